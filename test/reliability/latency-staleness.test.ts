/**
 * 150 ms of latency each way between every cache and the server, with maxStaleMs 400: a
 * confirmation dated by its reply's arrival (not its read's sending) would vouch for entries
 * appended while the reply travelled, and an instance would serve invalidated entries past the
 * bound. Both Redis adapters (ioredis and valkey-glide) on one Redis server, through the chaos
 * proxy; three caches each, one in another process. Expected: 0 stale reads.
 */
import { expect, test } from "bun:test";
import {
  calm,
  chaosFixture,
  expectNoStaleReads,
  runStalenessScenario,
} from "../support/staleness-scenario.ts";

const MAX_STALE_MS = 400;
const SEED = Number(process.env.AUTHCACHE_CHAOS_SEED ?? 20_260_101) + 14;
const chaos = chaosFixture("redis");

for (const adapter of ["redis", "valkey"] as const) {
  test(`${adapter === "redis" ? "ioredis" : "valkey-glide"}: 150 ms each way, maxStaleMs 400: no stale read`, async () => {
    // A fleet per test: the fixture's list would carry the previous test's instances over.
    const fleet: typeof chaos.fleet = [];
    const result = await runStalenessScenario({
      server: chaos.server,
      proxy: chaos.proxy,
      seed: SEED,
      maxStaleMs: MAX_STALE_MS,
      namespace: `latency-${adapter}`,
      adapter,
      // L2 calls take a round trip of 300 ms: give them room, so reads are served from L2
      // rather than the database while L1 is not trusted.
      config: { timeoutMs: 1000, confirmIntervalMs: 100 },
      local: 2,
      workers: 1,
      fleet,
      faults: ({ proxy: p }) => [
        calm(500),
        {
          label: "delay 150 ms each way",
          run: () => p.setDelay(150),
          holdMs: 4000,
          undo: () => p.setDelay(0),
        },
        calm(500),
      ],
    });
    for (const instance of fleet) await instance.close().catch(() => {});
    expectNoStaleReads(result, `latency summary (${adapter})`);
    expect(result.report.checked).toBeGreaterThan(500);
    expect(result.faultsInjected).toBeGreaterThanOrEqual(1);
  }, 90_000);
}
