/**
 * Faults for a cluster with replicas, as operators meet them: a master killed (the cluster
 * promotes its replica; the old master comes back as a replica), a manual failover, and slots
 * moved while traffic runs (clients see MOVED and ASK). The chaos proxy cannot front a cluster
 * (clients connect to the addresses the cluster announces), so these are the cluster's faults.
 */
import { afterAll, beforeAll } from "bun:test";
import {
  type ClusterNodeInfo,
  type HostPort,
  rawCommand,
  startCluster,
  type TestCluster,
} from "@authcache/test-servers";
import type { Instance } from "./fleet.ts";
import { sleep } from "./fleet.ts";
import { calm, type Fault, type FaultControl } from "./staleness-scenario.ts";

/** Sends `command` to the first node of the cluster that answers. */
async function ask(cluster: TestCluster, command: string): Promise<string> {
  let last: unknown;
  for (const node of cluster.allNodes) {
    try {
      return await rawCommand(node, command);
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`cluster faults: no node answered ${command}`, { cause: last });
}

/** The slot `key` hashes to, asked of a live node. */
export async function slotOf(cluster: TestCluster, key: string): Promise<number> {
  const reply = await ask(cluster, `CLUSTER KEYSLOT ${key}`);
  const m = /^:(\d+)/.exec(reply);
  if (!m) throw new Error(`cluster faults: CLUSTER KEYSLOT answered ${reply.trim()}`);
  return Number(m[1]);
}

/** The master serving `slot` now (read from the ranges of `CLUSTER NODES`). */
export async function masterOfSlot(cluster: TestCluster, slot: number): Promise<ClusterNodeInfo> {
  const topo = await cluster.topology();
  // CLUSTER NODES lists each master's ranges; topology() only counts them, so read them here.
  const raw = await ask(cluster, "CLUSTER NODES");
  for (const line of raw.split("\n")) {
    const f = line.trim().split(" ");
    if (f.length < 9 || !(f[2] ?? "").includes("master") || (f[2] ?? "").includes("fail")) continue;
    for (const r of f.slice(8)) {
      if (r.startsWith("[")) continue;
      const [a, b] = r.split("-").map(Number);
      if (a === undefined) continue;
      if (slot >= a && slot <= (b ?? a)) {
        const node = topo.find((n) => n.id === f[0]);
        if (node) return node;
      }
    }
  }
  throw new Error(`cluster faults: no live master serves slot ${slot}`);
}

/** The replica of `master` (a live one), or undefined. */
export async function replicaOf(
  cluster: TestCluster,
  master: ClusterNodeInfo,
): Promise<ClusterNodeInfo | undefined> {
  return (await cluster.topology()).find((n) => n.masterId === master.id && !n.failed);
}

/** Waits until `node` is a replica whose link to its master is up (back in the cluster). */
export async function waitReplicaInSync(node: HostPort, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await rawCommand(node, "INFO replication").catch(() => "");
    if (info.includes("role:slave") && info.includes("master_link_status:up")) return;
    if (Date.now() > deadline)
      throw new Error(`cluster faults: ${node.port} did not rejoin as an in-sync replica`);
    await sleep(50);
  }
}

/**
 * A master killed with SIGKILL; the cluster promotes its replica by itself (node timeout 1 s),
 * then the old master is started again and rejoins as a replica. `which` picks the master:
 * the one serving the log (`logKey`) or another one.
 */
export function killMaster(
  ctl: FaultControl,
  logKey: string,
  which: "log" | "other",
  holdMs: number,
): Fault {
  let killed: ClusterNodeInfo | undefined;
  const label = `master kill (${which === "log" ? "the log's shard" : "another shard"}) + automatic failover`;
  return {
    label,
    async run() {
      const cluster = ctl.cluster;
      const logMaster = await masterOfSlot(cluster, await slotOf(cluster, logKey));
      const topo = await cluster.topology();
      // Another master: one that serves slots (a node just demoted by a failover is still a
      // slotless "master" to the others for a while) and has a live replica to take over.
      killed =
        which === "log"
          ? logMaster
          : topo.find(
              (n) =>
                n.role === "master" &&
                n.slots > 0 &&
                !n.failed &&
                n.id !== logMaster.id &&
                topo.some((r) => r.masterId === n.id && !r.failed),
            );
      if (!killed) throw new Error("cluster faults: no master to kill");
      ctl.mark(label, "start");
      ctl.count("master kills");
      await cluster.killNode(killed);
    },
    holdMs,
    async undo() {
      const cluster = ctl.cluster;
      // The replica normally takes over within a few node timeouts; if none could (a loaded
      // machine, a replica still syncing), starting the old master again heals the shard.
      await cluster.waitHealthy(20_000).catch(() => {});
      if (!killed) return;
      await cluster.restartNode(killed);
      await waitReplicaInSync(killed);
      await cluster.waitHealthy(60_000);
    },
  };
}

/**
 * Acknowledged writes lost in a failover: the replica of the log's master freezes and the
 * master drops its replication link, traffic runs for `lossMs` (the master acknowledges writes,
 * invalidations included, that the replica never gets), then the master is killed and the
 * replica thawed: the cluster promotes it without those writes. The old master comes back as a
 * replica. Needs `lossMs` well below `cluster-node-timeout` (the frozen replica must not be
 * failed by the others first).
 */
export function loseWrites(
  ctl: FaultControl,
  logKey: string,
  lossMs: number,
  holdMs: number,
  /** Counts what the failover lost: log entries (the old master's head minus the new one's),
   *  and a probe key the fault writes to the old master after cutting its replica off (gone
   *  after the failover: the acknowledged write was lost). */
  tally?: { lostLogEntries: number; lostProbes: number },
): Fault {
  let master: ClusterNodeInfo | undefined;
  let replica: ClusterNodeInfo | undefined;
  let headBefore = 0;
  const head = async (node: HostPort): Promise<number> => {
    const reply = await rawCommand(node, `HGET {${logKey}}:meta seq`);
    const m = /^\$\d+\r\n(\d+)/.exec(reply);
    return m ? Number(m[1]) : 0;
  };
  const label = `writes lost in a failover (${lossMs} ms of writes the replica never got)`;
  return {
    label,
    async run() {
      const cluster = ctl.cluster;
      master = await masterOfSlot(cluster, await slotOf(cluster, logKey));
      replica = await replicaOf(cluster, master);
      if (!replica) throw new Error("cluster faults: the log's master has no live replica");
      ctl.mark(label, "start");
      ctl.count("lost-write failovers");
      await cluster.pauseNode(replica);
      try {
        const killed = await rawCommand(master, "CLIENT KILL TYPE replica");
        if (killed !== ":1\r\n")
          throw new Error(`cluster faults: CLIENT KILL TYPE replica answered ${killed.trim()}`);
        const probe = await rawCommand(master, `SET {${logKey}}:lost-probe ${Date.now()}`);
        if (probe !== "+OK\r\n")
          throw new Error(`cluster faults: the probe write answered ${probe.trim()}`);
        await sleep(lossMs);
        headBefore = await head(master);
        await cluster.killNode(master);
      } finally {
        await cluster.resumeNode(replica);
      }
    },
    holdMs,
    async undo() {
      const cluster = ctl.cluster;
      await cluster.waitHealthy(60_000);
      if (!master || !replica) return;
      if (tally) {
        tally.lostLogEntries += Math.max(0, headBefore - (await head(replica)));
        if ((await rawCommand(replica, `EXISTS {${logKey}}:lost-probe`)) === ":0\r\n")
          tally.lostProbes++;
      }
      await cluster.restartNode(master);
      await waitReplicaInSync(master);
      await cluster.waitHealthy(60_000);
    },
  };
}

/** A manual `CLUSTER FAILOVER` (the graceful one: the replica catches up, then takes over). */
export function manualFailover(ctl: FaultControl, logKey: string, holdMs: number): Fault {
  const label = "manual failover (the log's shard)";
  return {
    label,
    async run() {
      const cluster = ctl.cluster;
      const master = await masterOfSlot(cluster, await slotOf(cluster, logKey));
      const replica = await replicaOf(cluster, master);
      if (!replica) throw new Error("cluster faults: the log's master has no live replica");
      ctl.mark(label, "start");
      ctl.count("manual failovers");
      await cluster.failover(replica);
    },
    holdMs,
  };
}

/** Moves `slots` slots from the master serving the log to another master while traffic runs
 *  (`--cluster reshard`, keys included): clients meet MOVED and ASK. */
export function reshard(ctl: FaultControl, logKey: string, slots: number, holdMs: number): Fault {
  const label = `reshard ${slots} slots while traffic runs`;
  return {
    label,
    async run() {
      const cluster = ctl.cluster;
      const from = await masterOfSlot(cluster, await slotOf(cluster, logKey));
      const to = (await cluster.topology()).find(
        (n) => n.role === "master" && !n.failed && n.id !== from.id && n.slots > 0,
      );
      if (!to) throw new Error("cluster faults: no master to move slots to");
      ctl.mark(label, "start");
      ctl.count("reshards");
      await cluster.reshard(from, to, slots);
    },
    holdMs,
  };
}

/** One cluster chaos file's fixtures: a cluster of `kind` with one replica per master, started
 *  before the file's tests and stopped (with every instance left in `fleet`) after them. */
export function clusterFixture(kind: "redis" | "valkey"): {
  readonly cluster: TestCluster;
  readonly fleet: Instance[];
} {
  let cluster: TestCluster | undefined;
  const fleet: Instance[] = [];
  beforeAll(async () => {
    cluster = await startCluster(kind, { replicas: 1 });
  }, 90_000);
  afterAll(async () => {
    for (const inst of fleet) await inst.close().catch(() => {});
    await cluster?.stop();
  }, 30_000);
  return {
    get cluster() {
      if (cluster === undefined)
        throw new Error("cluster fixture: cluster not started (beforeAll failed)");
      return cluster;
    },
    fleet,
  };
}

/** The cluster chaos schedule: the log's master killed (automatic failover) and brought back
 *  as a replica, a manual failover, a reshard under traffic, another shard's master killed. */
export function clusterChaosSchedule(ctl: FaultControl, logKey: string): Fault[] {
  return [
    calm(800),
    killMaster(ctl, logKey, "log", 2500),
    calm(1000),
    manualFailover(ctl, logKey, 1000),
    reshard(ctl, logKey, 300, 500),
    calm(500),
    killMaster(ctl, logKey, "other", 2500),
    calm(1000),
  ];
}
