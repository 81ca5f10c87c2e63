/**
 * The cluster chaos run, once for both adapters: three caches (one in another process) read and
 * invalidate on a cluster with replicas (3 masters, 1 replica each, built with
 * `<kind>-cli --cluster create --cluster-replicas 1`) while the master serving the log is killed
 * (the cluster promotes its replica), the old master rejoins as a replica, a manual failover
 * swaps them back, slots move under traffic (MOVED/ASK) and another shard's master is killed.
 * Every read is checked against the ground truth, and no read may fail; a deaf instance in the
 * same setup must be caught. `make soak` repeats the schedule for AUTHCACHE_SOAK_SECONDS.
 */
import { expect, test } from "bun:test";
import { clusterChaosSchedule, clusterFixture } from "./cluster-faults.ts";
import type { Instance } from "./fleet.ts";
import {
  calm,
  deafButConfirming,
  expectNoStaleReads,
  runStalenessScenario,
  soak,
  soakTimeout,
} from "./staleness-scenario.ts";

const MAX_STALE_MS = 1000;

export interface ClusterChaosNames {
  /** What the adapter is called in the run's title ("ioredis", "valkey-glide"). */
  readonly client: string;
  /** Key prefix and log base of the chaos run; the deaf run uses `deaf` + its suffix. */
  readonly namespace: string;
  readonly deafNamespace: string;
  /** Added to AUTHCACHE_CHAOS_SEED so the two adapters' runs differ. */
  readonly seedOffset: number;
  /** The deaf-instance test's title. */
  readonly deafTitle: string;
}

export function defineClusterChaos(kind: "redis" | "valkey", names: ClusterChaosNames): void {
  const seed = Number(process.env.AUTHCACHE_CHAOS_SEED ?? 20_260_101) + names.seedOffset;
  const chaos = clusterFixture(kind);

  test(
    `${names.client} on a cluster with replicas: nothing staler than maxStaleMs, no failed read, through master kills, failovers and a reshard`,
    async () => {
      const result = await runStalenessScenario({
        cluster: chaos.cluster,
        seed,
        maxStaleMs: MAX_STALE_MS,
        namespace: names.namespace,
        adapter: kind,
        local: 2,
        workers: 1,
        fleet: chaos.fleet,
        faults: (ctl) => soak(() => clusterChaosSchedule(ctl, `${names.namespace}:log`)),
      });
      expectNoStaleReads(result, `cluster chaos summary (${kind})`);
      expect(new Set(chaos.fleet.map((i) => i.pid)).size).toBe(2);
      // Every fault of the schedule happened (at least once: a soak run repeats it).
      expect(result.otherFaults["master kills"]).toBeGreaterThanOrEqual(2);
      expect(result.otherFaults["manual failovers"]).toBeGreaterThanOrEqual(1);
      expect(result.otherFaults.reshards).toBeGreaterThanOrEqual(1);
      expect(result.recovery.length).toBe(result.faultsInjected);
      expect(result.sum("l2Errors")).toBeGreaterThan(0);
      expect(result.report.checked).toBeGreaterThan(1000);
      expect(result.sum("l1Hits")).toBeGreaterThan(0);
      expect(result.sum("l2Hits")).toBeGreaterThan(0);
    },
    soakTimeout(120_000),
  );

  test(names.deafTitle, async () => {
    const broken: Instance[] = [];
    try {
      const result = await runStalenessScenario({
        cluster: chaos.cluster,
        seed: seed + 1,
        maxStaleMs: MAX_STALE_MS,
        namespace: names.deafNamespace,
        adapter: kind,
        local: 2,
        workers: 0,
        fleet: broken,
        wrapBus: (index, bus) => (index === 1 ? deafButConfirming(bus) : bus),
        faults: () => [calm(3000)],
      });
      console.log(`deaf-instance check on the cluster (must find stale reads): ${result.summary}`);
      expect(result.report.stale.length).toBeGreaterThan(0);
      expect(result.report.stale.every((s) => s.read.instance === "B")).toBe(true);
    } finally {
      for (const inst of broken) await inst.close().catch(() => {});
    }
  }, 30_000);
}
