/**
 * `make bench`: every scenario against every backend and peer, in one process, with throwaway
 * servers pinned per AUTHCACHE_BENCH_PIN (split by default). Prints progress and the tables,
 * writes results/ and the generated section of README.md (full runs only).
 *
 *   bun src/run.ts                          full run (what `make bench` does)
 *   bun src/run.ts --only l1-hit,l2-hit     some scenarios (results/ written, README left alone)
 *   bun src/run.ts --smoke                  tiny sizes, nothing written (the tests do this)
 */
import { join } from "node:path";
import { describeMachine, sampleLoad } from "./lib/machine.ts";
import { fullReport } from "./lib/markdown.ts";
import { describePin, pinSelf } from "./lib/pinning.ts";
import type { ScenarioResult } from "./lib/types.ts";
import { type Report, updateReadme, writeResults } from "./lib/write.ts";
import { runScenarios } from "./runner.ts";
import { scenarios } from "./scenarios/index.ts";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const onlyAt = args.findIndex((a) => a === "--only" || a.startsWith("--only="));
const onlyArg = onlyAt < 0 ? undefined : args[onlyAt];
const only = onlyArg?.includes("=") ? onlyArg.slice(7) : onlyAt < 0 ? undefined : args[onlyAt + 1];
const wanted = only?.split(",").filter(Boolean);
const selected = wanted ? scenarios.filter((s) => wanted.includes(s.id)) : scenarios;
if (wanted && selected.length !== wanted.length) {
  const known = scenarios.map((s) => s.id).join(", ");
  console.error(`benchmarks: unknown scenario in --only ${only} (known: ${known})`);
  process.exit(2);
}

const root = join(import.meta.dir, "..");
const machine = describeMachine();
const pin = pinSelf();
const partial = wanted !== undefined || smoke;
const command = partial ? `cd benchmarks && bun src/run.ts ${args.join(" ")}` : "make bench";
console.error(`benchmarks: ${machine.runtime}, ${machine.cpu}, ${machine.cores} cores`);
console.error(`benchmarks: pinning ${describePin(pin)}`);
console.error(`benchmarks: load average ${machine.loadAverage.join(" / ")} (1/5/15 min)`);
const loadWarnings = new Set<string>();
const startWarning = sampleLoad(machine);
if (startWarning) {
  loadWarnings.add(startWarning);
  console.error(`benchmarks: warning: ${startWarning}`);
}

const t0 = performance.now();
const report = (results: ScenarioResult[], complete: boolean): Report => ({
  machine,
  pin,
  command,
  totalMs: performance.now() - t0,
  results,
  complete,
});
const out = await runScenarios({
  size: smoke ? "smoke" : "full",
  pin,
  scenarios: selected,
  onResult: (_r, all, versions) => {
    Object.assign(machine.servers, versions);
    const w = sampleLoad(machine);
    if (w && !loadWarnings.has(w)) console.error(`benchmarks: warning: ${w}`);
    if (w) loadWarnings.add("the load average rose above the core count during the run");
    if (!smoke) writeResults(join(root, "results"), report(all, false));
  },
});

Object.assign(machine.servers, out.serverVersions);
const final = report(out.results, true);
console.log(`\n${fullReport(machine, pin, command, final.totalMs, out.results)}`);
for (const w of [...out.warnings, ...loadWarnings]) console.error(`benchmarks: warning: ${w}`);
if (!smoke) {
  writeResults(join(root, "results"), final);
  if (!partial) updateReadme(join(root, "README.md"), final);
  console.error(`benchmarks: wrote ${join(root, "results")}${partial ? "" : " and README.md"}`);
}
const failed = out.results.filter((r) =>
  r.missing.some((m) => m.startsWith("the scenario failed")),
);
if (failed.length) {
  console.error(
    `benchmarks: ${failed.length} scenario(s) failed: ${failed.map((r) => r.id).join(", ")}`,
  );
  process.exit(1);
}
