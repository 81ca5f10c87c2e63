/**
 * Acknowledged writes lost in a failover, on a Redis cluster with replicas: the replica of the
 * log's master is frozen and cut off while the master keeps acknowledging writes, then the
 * master is killed and the replica promoted without them (invalidations, their L2 deletes,
 * fence bumps and log entries included). With the adapters' `durability` option (WAIT 1) no
 * invalidation is reported done before a replica has it, so nothing lost is served: stale
 * reads = 0 through two such failovers, on ioredis and on valkey-glide.
 */
import { expect, test } from "bun:test";
import { clusterFixture, loseWrites } from "../support/cluster-faults.ts";
import {
  calm,
  expectNoStaleReads,
  runStalenessScenario,
  soak,
  soakTimeout,
} from "../support/staleness-scenario.ts";

const MAX_STALE_MS = 1000;
const SEED = Number(process.env.AUTHCACHE_CHAOS_SEED ?? 20_260_101) + 41;
const chaos = clusterFixture("redis");

for (const adapter of ["redis", "valkey"] as const) {
  test(
    `${adapter === "redis" ? "ioredis" : "valkey-glide"} with durability: writes lost in failovers serve nothing stale, no read fails`,
    async () => {
      const namespace = `lost-${adapter}`;
      const tally = { lostLogEntries: 0, lostProbes: 0 };
      const result = await runStalenessScenario({
        cluster: chaos.cluster,
        seed: SEED + (adapter === "redis" ? 0 : 1),
        maxStaleMs: MAX_STALE_MS,
        namespace,
        adapter,
        config: { durability: { replicas: 1, timeoutMs: 200 } },
        local: 2,
        workers: 1,
        fleet: chaos.fleet,
        faults: (ctl) =>
          soak(() => [
            calm(800),
            loseWrites(ctl, `${namespace}:log`, 400, 2500, tally),
            calm(1000),
            loseWrites(ctl, `${namespace}:log`, 400, 2500, tally),
            calm(800),
          ]),
      });
      expectNoStaleReads(result, `lost-write chaos summary (${adapter}, durability)`);
      expect(result.otherFaults["lost-write failovers"]).toBeGreaterThanOrEqual(2);
      // The failovers did lose acknowledged writes: each one's probe key (written to the old
      // master after its replica was cut off) is gone, and so are log entries appended then.
      console.log(
        `writes lost in the failovers: probes ${tally.lostProbes}, log entries ${tally.lostLogEntries}`,
      );
      expect(tally.lostProbes).toBe(result.otherFaults["lost-write failovers"] ?? -1);
      // Durability refused the invalidations the lost writes would have carried: retried.
      expect(result.counts.invalidationRetries).toBeGreaterThan(0);
      for (const inst of chaos.fleet.splice(0)) await inst.close();
    },
    soakTimeout(120_000),
  );
}
