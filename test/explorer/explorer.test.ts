/**
 * The staleness explorer on the memory adapter (fake clock, deterministic): a few fixed seeds
 * and one random seed (printed). A failure prints the minimal sequence and the line that
 * replays it: AUTHCACHE_SEED=<seed>:<path> make test (or `bun test explorer` in test/).
 * AUTHCACHE_EXPLORE_RUNS changes the runs per seed.
 */
import { describe, expect, test } from "bun:test";
import { explore, memoryBackend, seedFromEnv } from "./explorer.ts";

const FIXED_SEEDS = [13, 1_300_013, 424_242];
const RUNS = Number(process.env.AUTHCACHE_EXPLORE_RUNS ?? 60);
const replay = seedFromEnv();
const randomSeed = (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;

describe("staleness explorer (memory, fake clock)", () => {
  const seeds = replay !== undefined ? [replay.seed] : [...FIXED_SEEDS, randomSeed];
  for (const seed of seeds) {
    const label =
      replay !== undefined
        ? `replays AUTHCACHE_SEED=${process.env.AUTHCACHE_SEED}`
        : seed === randomSeed
          ? `random seed ${seed}`
          : `seed ${seed}`;
    test(`no read breaks the bound: ${label}`, async () => {
      if (seed === randomSeed)
        console.log(`explorer: random seed ${seed} (AUTHCACHE_SEED=${seed} replays it)`);
      const out = await explore(memoryBackend, {
        seed,
        numRuns: RUNS,
        ...(replay?.path === undefined ? {} : { path: replay.path }),
      });
      if (out.failed) console.error(out.report);
      const t = out.totals;
      console.log(
        `explorer seed ${seed}: ${t.runs} runs, ${t.actions} actions (${t.faults} faults, ` +
          `${t.invalidations} invalidations, ${t.loads} loads), ${t.reads} reads (${t.checked} checked)`,
      );
      expect(out.failed ? out.report : "no violation").toBe("no violation");
      // The explorer must have exercised something: reads that returned values were checked.
      expect(t.checked).toBeGreaterThan(0);
    }, 120_000);
  }
});
