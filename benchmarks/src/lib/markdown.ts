import { fmt, fmtRatio } from "./format.ts";
import { goalsTable } from "./goals.ts";
import type { Machine } from "./machine.ts";
import { describePin } from "./pinning.ts";
import type { PinInfo, Row, ScenarioResult } from "./types.ts";

const esc = (s: string): string => s.replaceAll("|", "\\|");

export function scenarioTable(r: ScenarioResult): string {
  const spread = r.rows.some((x) => x.min !== undefined);
  const head = ["Case", "Backend", r.metric, ...(spread ? ["min–max (runs)"] : []), "ratio"];
  head.push(...r.columns);
  const lines = [`| ${head.map(esc).join(" | ")} |`];
  const fixed = spread ? 5 : 4;
  const numeric = (i: number): boolean =>
    i >= 2 &&
    (i < fixed ||
      r.rows.every((x) => typeof x.cols?.[r.columns[i - fixed] as string] !== "string"));
  lines.push(`|${head.map((_, i) => (numeric(i) ? "---:" : "---")).join("|")}|`);
  for (const row of r.rows) {
    const name = row.subject === "authcache" ? `**${row.case}**` : row.case;
    const cells = [name, row.backend, fmt(row.value)];
    if (spread) cells.push(row.min === undefined ? "" : `${fmt(row.min)}–${fmt(row.max)}`);
    cells.push(fmtRatio(row.ratio));
    for (const c of r.columns) cells.push(fmt(row.cols?.[c]));
    lines.push(`| ${cells.map(esc).join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Authcache rows that a peer of the same group beats on the primary metric. */
export function behind(r: ScenarioResult): string[] {
  const out: string[] = [];
  const better = (a: Row, b: Row): boolean =>
    r.better === "lower" ? a.value < b.value : a.value > b.value;
  for (const row of r.rows) {
    if (row.subject !== "authcache" || row.group === undefined) continue;
    for (const peer of r.rows) {
      if (peer.subject !== "peer" || peer.group !== row.group) continue;
      if (better(peer, row)) {
        // A string first column (concurrency, route) tells otherwise identical rows apart.
        const c = r.columns[0] === undefined ? undefined : row.cols?.[r.columns[0]];
        const where = typeof c === "string" ? `, ${c}` : "";
        out.push(
          `${r.title}: ${row.case} (${row.backend}${where}) ${fmt(row.value)} vs ${peer.case} ${fmt(peer.value)} ${r.metric}`,
        );
      }
    }
  }
  return out;
}

export function scenarioSection(r: ScenarioResult, level = "###"): string {
  const parts = [
    `${level} ${r.title}`,
    "",
    `${r.metric}, ${r.better} is better; ratio = value ÷ ${r.baseline} (same run). ` +
      `Took ${(r.durationMs / 1000).toFixed(1)} s.`,
    "",
    r.rows.length ? scenarioTable(r) : "_No rows: nothing could be measured._",
  ];
  if (r.notes.length) parts.push("", ...r.notes.map((n) => `- ${n}`));
  if (r.missing.length)
    parts.push("", "Not measured in this run:", ...r.missing.map((n) => `- ${n}`));
  parts.push("", `![${r.title}](${r.id}.svg)`);
  return parts.join("\n");
}

export function header(m: Machine, pin: PinInfo, command: string, totalMs: number): string {
  const servers = Object.entries(m.servers)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return [
    `- Date: ${m.date}`,
    `- Runtime: ${m.runtime}`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB`,
    `- Load average at start: ${m.loadAverage?.join(" / ") ?? "not recorded"} (1/5/15 min); highest 1-min during the run: ${m.loadAverageMax ?? "not recorded"}${(m.loadAverageMax ?? 0) > m.cores ? " — above the core count: the machine was not idle" : ""}`,
    `- Pinning: ${describePin(pin)}`,
    `- Servers: ${servers || "none started"} (loopback, no persistence)`,
    `- Libraries: ${Object.entries(m.libraries)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `- Command: \`${command}\`, total ${(totalMs / 1000).toFixed(0)} s`,
  ].join("\n");
}

export function fullReport(
  m: Machine,
  pin: PinInfo,
  command: string,
  totalMs: number,
  results: ScenarioResult[],
  imagePrefix = "",
): string {
  const lag = results.flatMap(behind);
  const body = results.map((r) =>
    scenarioSection(r).replace(`](${r.id}.svg)`, `](${imagePrefix}${r.id}.svg)`),
  );
  return [
    header(m, pin, command, totalMs),
    "",
    "Where authcache is behind a peer of the same row group (computed from this run):",
    "",
    ...(lag.length ? lag.map((l) => `- ${l}`) : ["- nowhere"]),
    "",
    "The performance goals, judged from this run (ratios to rows of the same run):",
    "",
    goalsTable(results),
    "",
    ...body.flatMap((b) => [b, ""]),
  ].join("\n");
}
