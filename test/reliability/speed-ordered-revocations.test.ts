// A randomized attack on revocations through the issue-18 ordered publish (helper F), on one
// real Valkey server: two instances on adapter-redis (ioredis) and one on adapter-valkey
// (glide), each with its store and bus in one keyspace, read tokens the way the gateway does
// (getAuthContextSync, else resolveAuthContext with a loader reading the ground truth) while
// random instances revoke them, and faults hit the server: every connection killed, the script
// cache flushed (NOSCRIPT), writes paused. Oracle: once invalidateRevocation(j) has resolved,
// no read of j begun more than maxStaleMs later, on any instance, says "not revoked"; at the
// end, instances opened afterwards (only L2 can tell them) find every such j revoked.
// AUTHCACHE_SEED=<n> replays a seed's choices (timing still varies: a real server).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createValkeyBus, createValkeyStore } from "@authcache/adapter-valkey";
import { type AuthCache, type AuthContext, createAuthCache } from "@authcache/core";
import type { InvalidationBus, Logger, Store } from "@authcache/core/adapter";
import { startServer, type TestServer } from "@authcache/test-servers";
import { Redis } from "ioredis";

const MAX_STALE_MS = 300;
const STEPS = 600;
const TOKENS = 40;
const seed = Number(process.env.AUTHCACHE_SEED ?? 18_0900);

let server: TestServer;
let raw: Redis;
beforeAll(async () => {
  server = await startServer("valkey");
  raw = new Redis(server.url);
});
afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Calls of the buses' publish and publishAfter, over the whole fleet. */
const busCalls = { publish: 0, publishAfter: 0 };

function counted(bus: InvalidationBus): InvalidationBus {
  return new Proxy(bus, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== "function" || (prop !== "publish" && prop !== "publishAfter")) return v;
      return (...args: unknown[]) => {
        busCalls[prop]++;
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

/** mulberry32: the seed's choices, reproducible. */
function prng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Instance {
  name: string;
  cache: AuthCache;
  close(): Promise<void>;
}

function open(kind: "redis" | "valkey", prefix: string, name: string): Instance {
  const address = { host: server.host, port: server.port };
  const store: Store =
    kind === "redis" ? createRedisStore(address) : createValkeyStore({ addresses: [address] });
  const bus: InvalidationBus =
    kind === "redis"
      ? createRedisBus({ ...address, prefix, confirmIntervalMs: 50 })
      : createValkeyBus({ addresses: [address], prefix, confirmIntervalMs: 50 });
  const cache = createAuthCache({
    store,
    bus: counted(bus),
    prefix,
    logger: quiet,
    maxStaleMs: MAX_STALE_MS,
    l2: { timeoutMs: 200, breaker: { failures: 5, resetMs: 50 } },
  });
  return {
    name,
    cache,
    async close() {
      await cache.close();
      await bus.close();
      await store.close();
    },
  };
}

test(`revocations through the ordered publish under kills, NOSCRIPT and paused writes: none is read as not revoked past maxStaleMs (seed ${seed})`, async () => {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const prefix = `sor-${seed}-${crypto.randomUUID().slice(0, 6)}:`;
  const fleet = [
    open("redis", prefix, "R1"),
    open("redis", prefix, "R2"),
    open("valkey", prefix, "V1"),
  ];
  const revokedInDb = new Set<string>();
  /** When invalidateRevocation(j) resolved (the oracle's clock starts there). */
  const resolvedAt = new Map<string, number>();
  const violations: string[] = [];
  const pending: Promise<unknown>[] = [];
  const counts = { revokes: 0, resolved: 0, rejected: 0, reads: 0, checked: 0, faults: 0 };
  const jtis = Array.from({ length: TOKENS }, (_, i) => `tok-${i}`);
  const emailOf = (j: string) => `${j}@example.com`;
  const load = (j: string): AuthContext => ({
    user: { email: emailOf(j), isActive: true },
    personalTeamId: "p",
    isTokenRevoked: revokedInDb.has(j),
  });
  const read = async (inst: Instance, j: string) => {
    const startedAt = Date.now();
    counts.reads++;
    let ctx: AuthContext | undefined;
    try {
      ctx =
        inst.cache.getAuthContextSync(emailOf(j), j) ??
        (await inst.cache.resolveAuthContext(emailOf(j), j, async () => load(j)));
    } catch {
      return; // a failed read answers nothing
    }
    const at = resolvedAt.get(j);
    if (at !== undefined && startedAt > at + MAX_STALE_MS) {
      counts.checked++;
      if (ctx?.isTokenRevoked !== true) {
        violations.push(
          `${inst.name} read ${j} as not revoked ${startedAt - at} ms after its revocation resolved`,
        );
      }
    }
  };
  try {
    const deadline = Date.now() + 5_000;
    while (!fleet.every((i) => i.cache.stats().l1Trusted)) {
      if (Date.now() > deadline) throw new Error("the fleet never trusted its L1");
      await Bun.sleep(10);
    }
    for (let step = 0; step < STEPS; step++) {
      const r = rand();
      const inst = pick(fleet);
      const j = pick(jtis);
      if (r < 0.12) {
        if (!revokedInDb.has(j)) {
          revokedInDb.add(j);
          counts.revokes++;
          pending.push(
            inst.cache.invalidateRevocation(j, Date.now() + 600_000).then(
              () => {
                counts.resolved++;
                resolvedAt.set(j, Date.now());
              },
              () => {
                counts.rejected++;
              },
            ),
          );
        }
      } else if (r < 0.16) {
        counts.faults++;
        const f = rand();
        const fault =
          f < 0.4
            ? raw.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            : f < 0.7
              ? raw.script("FLUSH")
              : raw.call("CLIENT", "PAUSE", String(20 + Math.floor(rand() * 60)), "WRITE");
        await fault.catch(() => {});
      } else {
        const reads = [read(inst, j)];
        if (rand() < 0.5) reads.push(read(pick(fleet), pick(jtis)));
        await Promise.all(reads);
      }
      if (rand() < 0.3) await Bun.sleep(Math.floor(rand() * 6));
    }
    await Promise.all(pending);
    // Every revocation that resolved, everywhere, once maxStaleMs has passed.
    await Bun.sleep(MAX_STALE_MS + 50);
    for (const inst of fleet) for (const j of resolvedAt.keys()) await read(inst, j);
    const later = [open("redis", prefix, "R-later"), open("valkey", prefix, "V-later")];
    try {
      for (const inst of later) {
        for (const j of resolvedAt.keys()) {
          if ((await inst.cache.isTokenRevoked(j)) !== true) {
            violations.push(`${inst.name} (opened afterwards) does not find ${j} revoked in L2`);
          }
        }
      }
    } finally {
      for (const inst of later) await inst.close();
    }
  } finally {
    for (const inst of fleet) await inst.close();
  }
  console.log(
    `speed-ordered-revocations seed ${seed}: ${JSON.stringify({ ...counts, ...busCalls })}`,
  );
  expect(violations).toEqual([]);
  // The run attacked something: revocations resolved and reads were checked against them.
  expect(counts.resolved).toBeGreaterThan(0);
  expect(counts.checked).toBeGreaterThan(0);
  expect(busCalls.publishAfter).toBeGreaterThan(0);
}, 60_000);
