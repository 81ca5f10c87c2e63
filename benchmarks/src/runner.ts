import { Servers } from "./lib/servers.ts";
import type { Context, PinInfo, Scenario, ScenarioResult, Size } from "./lib/types.ts";

export interface RunOptions {
  readonly size: Size;
  readonly scenarios: readonly Scenario[];
  /** Where this process was pinned (pinSelf) and so where servers go. */
  readonly pin: PinInfo;
  readonly log?: (message: string) => void;
  /** Called after each scenario (the main writes partial results as it goes). */
  readonly onResult?: (
    result: ScenarioResult,
    all: ScenarioResult[],
    serverVersions: Record<string, string>,
  ) => void | Promise<void>;
}

export interface RunOutput {
  readonly results: ScenarioResult[];
  readonly serverVersions: Record<string, string>;
  readonly warnings: string[];
  readonly totalMs: number;
}

/** Runs scenarios one after another with shared, lazily started servers; always stops them. */
export async function runScenarios(o: RunOptions): Promise<RunOutput> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const t0 = performance.now();
  const pin = o.pin;
  const servers = new Servers(pin, log);
  const ctx: Context = {
    size: o.size,
    pin,
    server: (kind) => servers.get(kind),
    flush: (kind) => servers.flush(kind),
    log,
  };
  const results: ScenarioResult[] = [];
  try {
    for (const [i, s] of o.scenarios.entries()) {
      const started = performance.now();
      log(`[${i + 1}/${o.scenarios.length}] ${s.title} ...`);
      let r: ScenarioResult;
      try {
        r = await s.run(ctx);
      } catch (e) {
        // One broken scenario must not cost the others their results.
        const err = e as Error;
        log(`  FAILED: ${err.stack ?? err.message}`);
        r = {
          id: s.id,
          title: s.title,
          metric: "",
          better: "lower",
          baseline: "",
          columns: [],
          rows: [],
          notes: [],
          missing: [`the scenario failed: ${err.message.split("\n")[0]}`],
          durationMs: performance.now() - started,
        };
      }
      results.push(r);
      log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      await o.onResult?.(r, results, servers.versions);
    }
  } finally {
    await servers.stopAll();
  }
  return {
    results,
    serverVersions: servers.versions,
    warnings: servers.warnings,
    totalMs: performance.now() - t0,
  };
}
