import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Machine } from "./machine.ts";
import { fullReport } from "./markdown.ts";
import { barChart } from "./svg.ts";
import type { PinInfo, ScenarioResult } from "./types.ts";

export interface Report {
  readonly machine: Machine;
  readonly pin: PinInfo;
  readonly command: string;
  readonly totalMs: number;
  readonly results: ScenarioResult[];
  readonly complete: boolean;
}

/** Writes results/latest.json, latest.md and one SVG per scenario. */
export function writeResults(dir: string, r: Report): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(
    join(dir, "latest.md"),
    `# authcache benchmarks: latest run${r.complete ? "" : " (partial)"}\n\n${fullReport(r.machine, r.pin, r.command, r.totalMs, r.results)}\n`,
  );
  for (const s of r.results) writeFileSync(join(dir, `${s.id}.svg`), barChart(s));
}

const START = "<!-- results:start (written by src/run.ts; edit outside these markers) -->";
const END = "<!-- results:end -->";

/** Replaces the generated section of README.md, keeping everything written by hand around it. */
export function updateReadme(path: string, r: Report): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = `# authcache benchmarks\n\n${START}\n${END}\n`;
  }
  const s = text.indexOf(START);
  const e = text.indexOf(END);
  if (s < 0 || e < s) text = `${text.trimEnd()}\n\n${START}\n${END}\n`;
  const a = text.indexOf(START) + START.length;
  const b = text.indexOf(END);
  const body = fullReport(r.machine, r.pin, r.command, r.totalMs, r.results, "results/");
  writeFileSync(path, `${text.slice(0, a)}\n\n${body}\n${text.slice(b)}`);
}
