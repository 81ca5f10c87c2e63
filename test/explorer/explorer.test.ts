/**
 * The staleness explorer on the memory adapter (fake clock, deterministic): a few fixed seeds
 * and one random seed (printed). A failure prints the minimal sequence and the line that
 * replays it: AUTHCACHE_SEED=<seed>:<path> make test (or `bun test explorer` in test/).
 * AUTHCACHE_EXPLORE_RUNS changes the runs per seed. The explorer's own parts are tested first:
 * the oracle, the fake clock's confirmations, and that a planted defect is found.
 */
import { describe, expect, test } from "bun:test";
import { createAuthCache, type InvalidationBus, silentLogger } from "@authcache/core";
import { caseFromEnv, explore, memoryBackend, seedFromEnv } from "./explorer.ts";
import { FaultyBus } from "./faults.ts";
import { ENTITIES, GroundTruth, T0 } from "./model.ts";
import type { Backend } from "./run.ts";

const FIXED_SEEDS = [13, 1_300_013, 424_242];
const RUNS = Number(process.env.AUTHCACHE_EXPLORE_RUNS ?? 150);
const replay = seedFromEnv();
const oneCase = caseFromEnv();
const randomSeed = (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const role = ENTITIES.findIndex((x) => x.k === "role");

describe("the explorer's oracle", () => {
  const setup = () => {
    const clock = { t: T0 };
    const gt = new GroundTruth(() => clock.t, 1_000);
    return { clock, gt, x: ENTITIES[role] as (typeof ENTITIES)[number] };
  };

  test("a value stays servable for maxStaleMs after its invalidation resolved, not longer", () => {
    const { clock, gt, x } = setup();
    const old = gt.value(x);
    gt.flipRole("a@x.io", "t1");
    const resolved = gt.invalidating({ op: "userRole", e: "a@x.io", t: "t1" });
    clock.t += 5;
    resolved();
    clock.t += 1_000;
    gt.endRead(gt.startRead(x, 0, "get"), old);
    expect(gt.violations).toEqual([]);
    clock.t += 1;
    gt.endRead(gt.startRead(x, 0, "get"), old);
    expect(gt.violations.map((v) => v.kind)).toEqual(["stale"]);
  });

  test("an invalidation called before the write does not end the old value; a miss is never stale; an invented value is foreign", () => {
    const { clock, gt, x } = setup();
    const old = gt.value(x);
    const early = gt.invalidating({ op: "userRole", e: "a@x.io", t: "t1" });
    gt.flipRole("a@x.io", "t1");
    early();
    clock.t += 10_000;
    gt.endRead(gt.startRead(x, 0, "get"), old);
    gt.endRead(gt.startRead(x, 0, "get"), undefined);
    expect(gt.violations).toEqual([]);
    gt.endRead(gt.startRead(x, 0, "get"), "owner");
    expect(gt.violations.map((v) => v.kind)).toEqual(["foreign"]);
  });
});

describe("the explorer's fleet", () => {
  test("a confirmation on the fake clock is what makes L1 trusted, for maxStaleMs", async () => {
    const b = memoryBackend();
    const c = b.connect();
    const bus = new FaultyBus(c.bus, c.native);
    const cache = createAuthCache({
      ...b.cacheOptions,
      store: c.store,
      bus: bus.bus,
      now: b.now,
      logger: silentLogger,
      maxStaleMs: b.maxStaleMs,
    });
    await b.settle();
    await b.advance(5_000);
    expect(cache.stats().l1Trusted).toBe(false);
    await b.confirm([bus]);
    await b.advance(999);
    expect(cache.stats().l1Trusted).toBe(true);
    await b.advance(1);
    expect(cache.stats().l1Trusted).toBe(false);
    await cache.close();
    await b.close();
  });

  test("a planted defect is found and shrunk: a log follower that drops role entries but still confirms", async () => {
    const lossy = (): Backend => {
      const b = memoryBackend();
      return {
        ...b,
        connect() {
          const c = b.connect();
          const bus: InvalidationBus = {
            name: c.bus.name,
            get dropped() {
              return c.bus.dropped;
            },
            publish: (m) => c.bus.publish(m),
            onState: (l) => c.bus.onState(l),
            close: () => c.bus.close(),
            subscribe: (h) =>
              c.bus.subscribe({
                ...h,
                message: (m) => (m.type === "role" ? undefined : h.message(m)),
              }),
          };
          return { ...c, bus };
        },
      };
    };
    const out = await explore(lossy, { seed: 7, numRuns: 300 });
    expect(out.failed).toBe(true);
    expect(out.report).toContain("stale:");
    // Shrunk to a change and a read: the whole counterexample fits in a few lines.
    expect(out.report).toContain('"op":"change"');
    const steps = out.report.split("\n").filter((l) => /^\s+\d+\. \{/.test(l));
    expect(steps.length).toBeLessThanOrEqual(3);
  }, 60_000);
});

describe("staleness explorer (memory, fake clock)", () => {
  if (oneCase !== undefined) {
    test("no read breaks the bound: AUTHCACHE_EXPLORE_CASE", async () => {
      // Examples count among the runs: one run is exactly this case.
      const out = await explore(memoryBackend, { seed: 0, numRuns: 1, examples: [oneCase] });
      if (out.failed) console.error(out.report);
      expect(out.failed ? out.report : "no violation").toBe("no violation");
    });
    return;
  }
  const seeds = replay !== undefined ? [replay.seed] : [...FIXED_SEEDS, randomSeed];
  for (const seed of seeds) {
    const label =
      replay !== undefined
        ? `replays AUTHCACHE_SEED=${process.env.AUTHCACHE_SEED}`
        : seed === randomSeed
          ? `random seed ${seed}`
          : `seed ${seed}`;
    test(`no read breaks the bound: ${label}`, async () => {
      if (seed === randomSeed) {
        console.log(`explorer: random seed ${seed} (AUTHCACHE_SEED=${seed} replays it)`);
      }
      const out = await explore(memoryBackend, {
        seed,
        numRuns: RUNS,
        ...(replay?.path === undefined ? {} : { path: replay.path }),
      });
      if (out.failed) console.error(out.report);
      const t = out.totals;
      console.log(
        `explorer seed ${seed}: ${t.runs} runs, ${t.actions} actions (${t.faults} faults, ` +
          `${t.invalidations} invalidations (${t.orderedPublishes} ordered publishes), ${t.loads} loads), ${t.reads} reads (${t.checked} checked)`,
      );
      expect(out.failed ? out.report : "no violation").toBe("no violation");
      // The runs exercised something: reads that returned values were checked.
      expect(t.checked).toBeGreaterThan(0);
      // ...and revocations took the ordered publish (store writes + append in one step) too.
      if (replay === undefined) expect(t.orderedPublishes).toBeGreaterThan(0);
    }, 180_000);
  }
});
