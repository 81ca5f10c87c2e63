/**
 * Invalidation durability on a cluster with replicas, for both adapters: asynchronous
 * replication lets a failover undo a write the master already acknowledged (shown here with a
 * replica frozen while its master takes the write, then the master killed), and the
 * `durability` option (WAIT) refuses to acknowledge a write no replica has, so the caller
 * retries instead of believing it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createValkeyBus, createValkeyStore } from "@authcache/adapter-valkey";
import type { InvalidationBus, Store } from "@authcache/core";
import {
  rawCommand,
  type ServerKind,
  startCluster,
  type TestCluster,
} from "@authcache/test-servers";
import { Logger as GlideLogger } from "@valkey/valkey-glide";
import { masterOfSlot, replicaOf, slotOf } from "../support/cluster-faults.ts";

interface Pair {
  readonly store: Store;
  readonly bus: InvalidationBus;
  close(): Promise<void>;
}

type Durability = { replicas: number; timeoutMs: number } | undefined;

function open(kind: ServerKind, cluster: TestCluster, durability: Durability): Pair {
  const nodes = cluster.allNodes.map((n) => ({ host: n.host, port: n.port }));
  const d = durability === undefined ? {} : { durability };
  if (kind === "valkey") {
    GlideLogger.init("error");
    // Generous connection and request timeouts: glide's defaults (a fraction of a second) are
    // not always enough to discover six nodes, or for a reply, on a loaded machine, and this
    // test is about durability.
    const clientConfig = {
      requestTimeout: 5_000,
      advancedConfiguration: { connectionTimeout: 5_000 },
    };
    const store = createValkeyStore({ addresses: nodes, cluster: true, clientConfig, ...d });
    const bus = createValkeyBus({
      addresses: nodes,
      cluster: true,
      clientConfig,
      stream: "dur:log",
      ...d,
    });
    return {
      store,
      bus,
      close: async () => {
        await bus.close();
        await store.close();
      },
    };
  }
  const store = createRedisStore({ nodes, ...d });
  const bus = createRedisBus({ nodes, stream: "dur:log", ...d });
  return {
    store,
    bus,
    close: async () => {
      await bus.close();
      await store.close();
    },
  };
}

const FAR = () => Date.now() + 3_600_000;

for (const kind of ["redis", "valkey"] as const) {
  describe(`${kind === "redis" ? "ioredis" : "valkey-glide"} on a ${kind} cluster with replicas`, () => {
    let cluster: TestCluster | undefined;
    const opened: Pair[] = [];
    afterAll(async () => {
      for (const p of opened) await p.close().catch(() => {});
      await cluster?.stop();
    }, 30_000);

    test("durability: invalidation writes and log appends wait for a replica; more replicas than exist fail them by name; a bad option is refused by name", async () => {
      cluster = await startCluster(kind, { replicas: 1 });
      const durable = open(kind, cluster, { replicas: 1, timeoutMs: 2000 });
      opened.push(durable);
      const { store, bus } = durable;
      // Keys in several slots, so a cluster deleteMany/deleteOwner waits on several masters.
      const keys = ["a:1", "b:2", "c:3", "d:4", "e:5"];
      for (const k of keys) await store.set(k, "v", FAR(), ["{o}:owner"]);
      await store.deleteMany(keys.slice(0, 2));
      await store.deleteOwner("{o}:owner");
      expect(await store.getMany(keys)).toEqual(keys.map(() => undefined));
      expect(await store.incr("{f}:fence", FAR())).toBe(1);
      await store.addMember("{r}:revoked", "jti-1", FAR());
      expect(await store.hasMember("{r}:revoked", "jti-1")).toBe(true);
      await bus.publish({ type: "user", email: "a@x.com" });

      const greedy = open(kind, cluster, { replicas: 2, timeoutMs: 100 });
      opened.push(greedy);
      await expect(greedy.store.incr("{f}:fence", FAR())).rejects.toThrow(
        /durability: 2 replica acknowledgement\(s\) required within 100 ms, got 1/,
      );
      await expect(greedy.bus.publish({ type: "user", email: "b@x.com" })).rejects.toThrow(
        /durability: 2 replica/,
      );
      expect(() => open(kind, cluster as TestCluster, { replicas: 0, timeoutMs: 100 })).toThrow(
        /durability\.replicas must be an integer from 1 to 100, got 0/,
      );
      expect(() => open(kind, cluster as TestCluster, { replicas: 1, timeoutMs: 0 })).toThrow(
        /durability\.timeoutMs must be an integer from 1 to 60000, got 0/,
      );
    }, 90_000);

    test("a failover loses an acknowledged fence bump; with durability the same bump is never acknowledged", async () => {
      if (!cluster) throw new Error("cluster not started");
      const plain = open(kind, cluster, undefined);
      const durable = open(kind, cluster, { replicas: 1, timeoutMs: 300 });
      opened.push(plain, durable);
      const fence = "{lost}:fence";
      // Both clients connected to every node before one freezes: a client still discovering
      // the cluster would wait on the frozen node (glide connects to replicas too).
      expect(await plain.store.getMany([fence])).toEqual([undefined]);
      expect(await durable.store.incr(fence, FAR())).toBe(1); // on the replica too
      const master = await masterOfSlot(cluster, await slotOf(cluster, fence));
      const replica = await replicaOf(cluster, master);
      if (!replica) throw new Error("the fence's master has no replica");
      // The replica freezes and its master drops the replication link (what it had sent is
      // already in the replica's socket buffer; nothing written after reaches it): the master
      // still acknowledges writes the replica never receives.
      await cluster.pauseNode(replica);
      expect(await rawCommand(master, "CLIENT KILL TYPE replica")).toBe(":1\r\n");
      let acknowledged: number | undefined;
      let refused: unknown;
      try {
        acknowledged = await plain.store.incr(fence, FAR());
        refused = await durable.store.incr(fence, FAR()).then(
          () => undefined,
          (e: unknown) => e,
        );
        await cluster.killNode(master);
      } finally {
        await cluster.resumeNode(replica);
      }
      await cluster.waitHealthy(30_000);
      const after = await rawCommand(replica, `GET ${fence}`);
      // The plain bump was acknowledged (2), then lost with its master: the new master says 1.
      expect(acknowledged).toBe(2);
      expect(after).toBe("$1\r\n1\r\n");
      // The durable bump (3 on the old master) was refused, never acknowledged.
      expect(String(refused)).toMatch(/durability: 1 replica acknowledgement\(s\) required/);
      await cluster.restartNode(master);
    }, 90_000);
  });
}
