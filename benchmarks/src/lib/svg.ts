import { fmt } from "./format.ts";
import type { ScenarioResult } from "./types.ts";

const COLORS = { authcache: "#2563eb", peer: "#f59e0b", baseline: "#6b7280" } as const;

const xml = (s: string): string =>
  s
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");

/** A horizontal bar chart of the primary metric, one bar per row; log scale when the values
 *  span more than two orders of magnitude (an L1 hit next to a network read). */
export function barChart(r: ScenarioResult): string {
  const rows = r.rows.filter((x) => Number.isFinite(x.value) && x.value > 0);
  const barH = 18;
  const gap = 6;
  const left = 440;
  const width = 1000;
  const plotW = width - left - 110;
  const top = 44;
  const height = top + rows.length * (barH + gap) + 30;
  const max = Math.max(...rows.map((x) => x.value), 1e-9);
  const min = Math.min(...rows.map((x) => x.value), max);
  const log = max / min > 100;
  const lo = log ? 10 ** Math.floor(Math.log10(min)) : 0;
  const scale = (v: number): number =>
    log ? (Math.log10(v / lo) / Math.log10((max * 1.05) / lo)) * plotW : (v / (max * 1.05)) * plotW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="18" font-size="15" font-weight="bold">${xml(r.title)}</text>`,
    `<text x="10" y="35" fill="#374151">${xml(`${r.metric} (${r.better} is better${log ? ", log scale" : ""}); blue = authcache, amber = peer, grey = baseline`)}</text>`,
  ];
  const base = (row: (typeof rows)[number]): string =>
    row.backend && row.backend !== "-" ? `${row.case} [${row.backend}]` : row.case;
  const seen = new Map<string, number>();
  for (const row of rows) seen.set(base(row), (seen.get(base(row)) ?? 0) + 1);
  // Rows that differ only by their first column (concurrency, N) say so in the label.
  const first = r.columns[0];
  rows.forEach((row, i) => {
    const y = top + i * (barH + gap);
    const w = Math.max(1, scale(row.value));
    const extra = first !== undefined ? row.cols?.[first] : undefined;
    const label =
      (seen.get(base(row)) ?? 0) > 1 && extra !== undefined
        ? `${base(row)}, ${fmt(extra)}`
        : base(row);
    out.push(
      `<text x="${left - 8}" y="${y + 13}" text-anchor="end">${xml(label.length > 72 ? `${label.slice(0, 70)}…` : label)}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[row.subject]}"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 13}">${xml(fmt(row.value))}${row.ratio !== undefined ? ` (${row.ratio.toFixed(2)}×)` : ""}</text>`,
    );
  });
  if (rows.length === 0) out.push(`<text x="10" y="${top + 14}">no data</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
