// The ordered publish (core's InvalidationBus.publishAfter) on a real Redis: a revocation's L2
// writes and its log entry in one script on the bus's connection when the store and the bus
// declare the same keyspace; today's order (store writes, then publish) when they do not, when
// the script fails (nothing appended by it), and, after three clean fallbacks in a row (a bus
// user the ACL keeps off the store's keys), for good.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type AuthCache, createAuthCache, InvalidationError, StoreError } from "@authcache/core";
import {
  createKeyCodec,
  type InvalidationBus,
  type InvalidationMessage,
  type Logger,
  type Store,
  type StoreWrite,
} from "@authcache/core/adapter";
import { startServer, type TestServer } from "@authcache/test-servers";
import { Cluster, Redis } from "ioredis";
import { keyspaceOf } from "../src/connection.ts";
import { createRedisBus, createRedisStore } from "../src/index.ts";

let server: TestServer;
let raw: Redis;

beforeAll(async () => {
  server = await startServer("redis");
  raw = new Redis(server.url);
});

afterAll(async () => {
  raw?.disconnect();
  await server?.stop();
});

/** The real store, its write calls counted (no call is changed). */
function counted(store: Store): { store: Store; writes: string[] } {
  const writes: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (prop === "addMember" || prop === "deleteMany") writes.push(prop);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, writes };
}

/** The real bus, its `publish` and `publishAfter` calls counted. */
function countedBus(bus: InvalidationBus): { bus: InvalidationBus; calls: string[] } {
  const calls: string[] = [];
  const wrapped = new Proxy(bus, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (prop === "publish" || prop === "publishAfter") calls.push(prop);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { bus: wrapped, calls };
}

const quiet = (warnings: string[] = []): Logger => ({
  debug: () => {},
  info: () => {},
  warn: (m: string) => {
    warnings.push(m);
  },
  error: () => {},
});

interface Side {
  readonly cache: AuthCache;
  readonly close: () => Promise<void>;
}

/** A cache on its own store and bus (each its own connection, as separate processes). */
function instance(
  prefix: string,
  o: { storeUrl?: string; busUrl?: string; warnings?: string[]; now?: () => number } = {},
): Side & { writes: string[]; calls: string[]; store: Store; bus: InvalidationBus } {
  const realStore = createRedisStore({ url: o.storeUrl ?? server.url });
  const realBus = createRedisBus({ url: o.busUrl ?? server.url, prefix, confirmIntervalMs: 100 });
  const { store, writes } = counted(realStore);
  const { bus, calls } = countedBus(realBus);
  const cache = createAuthCache({
    store,
    bus,
    prefix,
    logger: quiet(o.warnings),
    ...(o.now === undefined ? {} : { now: o.now }),
  });
  return {
    cache,
    writes,
    calls,
    store: realStore,
    bus: realBus,
    close: async () => {
      await cache.close();
      await realBus.close();
      await realStore.close();
    },
  };
}

/** A follower of the log that, as each revoke entry is delivered, takes one atomic snapshot
 *  of L2 (MULTI: the jti's score in the revoked set, whether its not-revoked key exists). */
async function snapshotFollower(prefix: string) {
  const codec = createKeyCodec({ prefix });
  const bus = createRedisBus({ url: server.url, prefix, confirmIntervalMs: 100 });
  const seen: { jti: string; snapshot: Promise<[string | null, number]> }[] = [];
  await bus.subscribe({
    message(m: InvalidationMessage) {
      if (m.type !== "revoke") return;
      const snapshot = raw
        .multi()
        .zscore(codec.revoked(), codec.revokedMember(m.jti))
        .exists(codec.notRevoked(m.jti))
        .exec()
        .then(
          (r) => [r?.[0]?.[1] as string | null, r?.[1]?.[1] as number] as [string | null, number],
        );
      seen.push({ jti: m.jti, snapshot });
    },
    reset() {},
    caughtUp() {},
  });
  return { bus, seen, codec };
}

const context = (email: string) => ({
  user: {
    email,
    fullName: "U",
    isAdmin: false,
    isActive: true,
    authProvider: "local",
    createdAt: "2026-01-01T00:00:00.000Z",
  },
  personalTeamId: "t",
  isTokenRevoked: false,
});

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await Bun.sleep(20);
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

test("a store and a bus on one standalone server and database declare the same keyspace (or one client passed to both); a cluster, a store with durability, another database, an ioredis keyPrefix, another client passed in do not", async () => {
  const store = createRedisStore({ url: server.url });
  const bus = createRedisBus({ url: server.url, prefix: "ks:" });
  const db1 = createRedisStore({ url: `${server.url}/1` });
  const durable = createRedisStore({ url: server.url, durability: { replicas: 1, timeoutMs: 10 } });
  const cluster = new Cluster([{ host: "127.0.0.1", port: server.port }], { lazyConnect: true });
  const prefixed = createRedisStore({ url: server.url, redisOptions: { keyPrefix: "t:" } });
  const given = new Redis(server.url);
  const other = new Redis(server.url);
  const givenStore = createRedisStore({ client: given });
  const givenBus = createRedisBus({ client: given, prefix: "ks:" });
  const otherBus = createRedisBus({ client: other, prefix: "ks:" });
  try {
    // ioredis keyPrefix: that client's keys are not the ones core named.
    expect(prefixed.keyspace).toBeUndefined();
    // A client passed in: only the very same client object matches (its SELECT is unknown).
    expect(givenStore.keyspace).toBeDefined();
    expect(givenBus.keyspace).toBe(givenStore.keyspace);
    expect(otherBus.keyspace).toBeDefined();
    expect(otherBus.keyspace).not.toBe(givenStore.keyspace);
    expect(givenStore.keyspace).not.toBe(store.keyspace);
    expect(store.keyspace).toBe(`redis-standalone:127.0.0.1:${server.port}/0`);
    expect(bus.keyspace).toBe(store.keyspace);
    expect(typeof bus.publishAfter).toBe("function");
    expect(db1.keyspace).toBe(`redis-standalone:127.0.0.1:${server.port}/1`);
    expect(durable.keyspace).toBeUndefined();
    expect(keyspaceOf(cluster)).toBeUndefined();
  } finally {
    cluster.disconnect();
    await Promise.all([store.close(), bus.close(), db1.close(), durable.close(), prefixed.close()]);
    await Promise.all([givenStore.close(), givenBus.close(), otherBus.close()]);
    given.disconnect();
    other.disconnect();
  }
});

test("same keyspace: the revocation's L2 writes travel with the entry (no store call), and every follower finds them made when the entry arrives", async () => {
  const prefix = `op1-${crypto.randomUUID().slice(0, 8)}:`;
  const a = instance(prefix);
  const b = instance(prefix);
  const watcher = await snapshotFollower(prefix);
  try {
    await Bun.sleep(150); // both followers started
    for (let i = 0; i < 20; i++) {
      const jti = `jti-${i}`;
      await raw.set(watcher.codec.notRevoked(jti), "planted");
      await b.cache.setAuthContext(`u${i}@example.com`, jti, context(`u${i}@example.com`));
      await a.cache.invalidateRevocation(jti, Date.now() + 600_000);
    }
    await until("the watcher saw 20 entries", () => watcher.seen.length === 20);
    expect(a.writes).toEqual([]); // no store call: the bus made the writes
    expect(a.calls).toEqual(Array(20).fill("publishAfter"));
    for (const { jti, snapshot } of watcher.seen) {
      const [score, nrExists] = await snapshot;
      expect({ jti, revoked: score !== null, nrExists }).toEqual({
        jti,
        revoked: true,
        nrExists: 0,
      });
    }
    await until("B has applied the last entry", () => b.cache.stats().busMessages >= 20);
    expect((await b.cache.getAuthContext("u19@example.com", "jti-19"))?.isTokenRevoked).toBe(true);
  } finally {
    await watcher.bus.close();
    await a.close();
    await b.close();
  }
});

test("another keyspace (the bus through 'localhost', the store through 127.0.0.1): the store writes, then the bus publishes", async () => {
  const prefix = `op2-${crypto.randomUUID().slice(0, 8)}:`;
  const a = instance(prefix, { busUrl: `redis://localhost:${server.port}` });
  const watcher = await snapshotFollower(prefix);
  try {
    expect(a.bus.keyspace).not.toBe(a.store.keyspace);
    await raw.set(watcher.codec.notRevoked("j"), "planted");
    await a.cache.invalidateRevocation("j", Date.now() + 600_000);
    expect([...a.writes].sort()).toEqual(["addMember", "deleteMany"]);
    expect(a.calls).toEqual(["publish"]);
    await until("the watcher saw the entry", () => watcher.seen.length === 1);
    const [score, nrExists] = await (watcher.seen[0]?.snapshot ?? Promise.reject());
    expect({ revoked: score !== null, nrExists }).toEqual({ revoked: true, nrExists: 0 });
  } finally {
    await watcher.bus.close();
    await a.close();
  }
});

test("a write that fails ends the script before the append; the store writes and the bus publishes once, and the call rejects naming the store only", async () => {
  const prefix = `op3-${crypto.randomUUID().slice(0, 8)}:`;
  const a = instance(prefix);
  const watcher = await snapshotFollower(prefix);
  try {
    await raw.set(watcher.codec.revoked(), "not a sorted set"); // WRONGTYPE for ZADD
    await raw.set(watcher.codec.notRevoked("j"), "planted");
    const error = await a.cache.invalidateRevocation("j", Date.now() + 600_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidationError);
    const failures = (error as InvalidationError).failures;
    expect(failures.length).toBe(1);
    expect(failures[0]).toBeInstanceOf(StoreError);
    expect(a.calls).toEqual(["publishAfter", "publish"]);
    expect([...a.writes].sort()).toEqual(["addMember", "deleteMany"]);
    await until("the watcher saw the entry", () => watcher.seen.length >= 1);
    await Bun.sleep(250); // a second entry, if the failed script had appended one, shows by now
    expect(watcher.seen.length).toBe(1);
    // The log holds one entry: the one today's path published.
    expect(await raw.xlen(`{${prefix}log}:entries`)).toBe(1);
    expect(await raw.exists(watcher.codec.notRevoked("j"))).toBe(0);
  } finally {
    await watcher.bus.close();
    await a.close();
  }
});

test("a bus user the ACL keeps off the store's keys: three clean fallbacks in a row, then the instance pauses the ordered publish (and says so), and tries it again after the pause", async () => {
  const prefix = `op4-${crypto.randomUUID().slice(0, 8)}:`;
  const user = `bus-${crypto.randomUUID().slice(0, 8)}`;
  await raw.call("ACL", "SETUSER", user, "on", ">pw", `~{${prefix}log}:*`, "&*", "+@all");
  const warnings: string[] = [];
  let skew = 0;
  const a = instance(prefix, {
    busUrl: `redis://${user}:pw@127.0.0.1:${server.port}`,
    warnings,
    now: () => Date.now() + skew,
  });
  const watcher = await snapshotFollower(prefix);
  try {
    expect(a.bus.keyspace).toBe(a.store.keyspace);
    for (let i = 0; i < 5; i++) await a.cache.invalidateRevocation(`j${i}`, Date.now() + 600_000);
    expect(a.calls).toEqual([
      ...Array(3).fill(["publishAfter", "publish"]).flat(),
      "publish",
      "publish",
    ]);
    expect(a.writes.filter((w) => w === "addMember").length).toBe(5);
    expect(warnings.filter((w) => w.includes("publishAfter failed")).length).toBe(1);
    skew = 16 * 60_000; // past any pause (core's first is 1 min, the longest 15): tried again
    await a.cache.invalidateRevocation("j5", Date.now() + skew + 600_000);
    expect(a.calls.slice(8)).toEqual(["publishAfter", "publish"]);
    await until("the watcher saw six entries", () => watcher.seen.length === 6);
    for (const { jti, snapshot } of watcher.seen) {
      const [score] = await snapshot;
      expect({ jti, revoked: score !== null }).toEqual({ jti, revoked: true });
    }
  } finally {
    await watcher.bus.close();
    await a.close();
    await raw.call("ACL", "DELUSER", user);
  }
});

test("with hashIdentifiers the writes carry the hashed jti: B, holding the context, refuses the token from L1 and from L2", async () => {
  const prefix = `op6-${crypto.randomUUID().slice(0, 8)}:`;
  const hashIdentifiers = { key: "k".repeat(32) };
  const open = () => {
    const store = createRedisStore({ url: server.url });
    const bus = createRedisBus({ url: server.url, prefix, confirmIntervalMs: 100 });
    const counted_ = countedBus(bus);
    const cache = createAuthCache({
      store,
      bus: counted_.bus,
      prefix,
      hashIdentifiers,
      logger: quiet(),
    });
    return {
      cache,
      calls: counted_.calls,
      close: async () => {
        await cache.close();
        await bus.close();
        await store.close();
      },
    };
  };
  const a = open();
  const b = open();
  let fresh: ReturnType<typeof open> | undefined;
  const codec = createKeyCodec({ prefix, hashIdentifiers });
  try {
    await Bun.sleep(150);
    await b.cache.setAuthContext("h@example.com", "hj", context("h@example.com"));
    await a.cache.invalidateRevocation("hj", Date.now() + 600_000);
    expect(a.calls).toEqual(["publishAfter"]);
    expect(await raw.zscore(codec.revoked(), codec.revokedMember("hj"))).not.toBeNull();
    await until("B applied it", () => b.cache.stats().busMessages >= 1);
    expect((await b.cache.getAuthContext("h@example.com", "hj"))?.isTokenRevoked).toBe(true);
    // Opened after the entry: its follower starts at the log's end, so only L2 can tell it.
    fresh = open();
    expect(await fresh.cache.isTokenRevoked("hj")).toBe(true);
  } finally {
    await a.close();
    await b.close();
    await fresh?.close();
  }
});

test("StoreWrite kinds the script does not know are refused before anything is sent", async () => {
  const bus = createRedisBus({ url: server.url, prefix: "op5:" });
  try {
    const bad = [{ op: "incr", key: "k" }] as unknown as StoreWrite[];
    await expect(bus.publishAfter?.(bad, { type: "user", email: "e" })).rejects.toThrow(
      /unknown store write/,
    );
    expect(await raw.exists("{op5:log}:entries")).toBe(0);
  } finally {
    await bus.close();
  }
});
