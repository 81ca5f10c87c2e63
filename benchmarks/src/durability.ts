/**
 * What invalidation durability costs: the writes of one user invalidation (the fence bump, the
 * owner index's deletes, the log entry: what core sends for `invalidateUser`) on a cluster with
 * replicas (3 masters, 1 replica each), through each adapter, with and without
 * `durability: { replicas: 1, timeoutMs: 1000 }` (WAIT after each write). Prints the median and
 * p99 latency of one invalidation awaited alone, and invalidations per second with 16 in flight.
 *
 * Run: cd benchmarks && bun src/durability.ts      (a script, not part of make bench)
 * AUTHCACHE_DURABILITY_N (default 400) invalidations per cell.
 */
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createValkeyBus, createValkeyStore } from "@authcache/adapter-valkey";
import type { InvalidationBus, Store } from "@authcache/core";
import { type ServerKind, startCluster, type TestCluster } from "@authcache/test-servers";
import { Logger as GlideLogger } from "@valkey/valkey-glide";

const N = Number(process.env.AUTHCACHE_DURABILITY_N ?? 400);
const ENTRIES_PER_USER = 5;
const FAR = () => Date.now() + 3_600_000;
type Durability = { replicas: number; timeoutMs: number } | undefined;

function open(kind: ServerKind, cluster: TestCluster, durability: Durability) {
  const nodes = cluster.allNodes.map((n) => ({ host: n.host, port: n.port }));
  const d = durability === undefined ? {} : { durability };
  let store: Store;
  let bus: InvalidationBus;
  if (kind === "valkey") {
    GlideLogger.init("error");
    store = createValkeyStore({ addresses: nodes, cluster: true, ...d });
    bus = createValkeyBus({ addresses: nodes, cluster: true, stream: "bench:log", ...d });
  } else {
    store = createRedisStore({ nodes, ...d });
    bus = createRedisBus({ nodes, stream: "bench:log", ...d });
  }
  return { store, bus };
}

/** One user's entries, indexed under the user's owner key (what a cache holds for a user). */
async function seed(store: Store, user: number): Promise<void> {
  const owner = `{bench:u${user}}:owner`;
  for (let i = 0; i < ENTRIES_PER_USER; i++)
    await store.set(`{bench:u${user}}:ctx:${i}`, "{}", FAR(), [owner]);
}

/** The writes of one user invalidation, in core's order: fence, entries, log. */
async function invalidate(store: Store, bus: InvalidationBus, user: number): Promise<void> {
  await store.incr(`{bench:u${user}}:fence`, FAR());
  await store.deleteOwner(`{bench:u${user}}:owner`);
  await bus.publish({ type: "user", email: `u${user}@bench` });
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

const rows: string[] = [];
for (const kind of ["redis", "valkey"] as const) {
  const cluster = await startCluster(kind, { replicas: 1 });
  try {
    for (const durability of [undefined, { replicas: 1, timeoutMs: 1000 }] as Durability[]) {
      const { store, bus } = open(kind, cluster, durability);
      for (let u = 0; u < N; u++) await seed(store, u);
      for (let u = 0; u < 20; u++) await invalidate(store, bus, u); // warm up
      const times: number[] = [];
      for (let u = 0; u < N; u++) {
        const t = performance.now();
        await invalidate(store, bus, u);
        times.push(performance.now() - t);
      }
      for (let u = 0; u < N; u++) await seed(store, u);
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < N) await invalidate(store, bus, next++);
        }),
      );
      const perSecond = N / ((performance.now() - started) / 1000);
      const label = `${kind === "redis" ? "ioredis" : "valkey-glide"} on ${kind} cluster, ${durability ? "durability WAIT 1" : "no durability"}`;
      rows.push(
        `| ${label} | ${quantile(times, 0.5).toFixed(2)} ms | ${quantile(times, 0.99).toFixed(2)} ms | ${Math.round(perSecond)} |`,
      );
      console.log(rows[rows.length - 1]);
      await bus.close();
      await store.close();
    }
  } finally {
    await cluster.stop();
  }
}
console.log(
  `\n| one invalidation (fence + owner delete + log entry), ${N} per cell | p50 | p99 | invalidations/s, 16 in flight |\n|---|---|---|---|\n${rows.join("\n")}`,
);
