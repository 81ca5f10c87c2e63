// The ordered publish (core's InvalidationBus.publishAfter) on a real Valkey through glide: a
// revocation's L2 writes and its log entry in one script on the bus's client when the store and
// the bus declare the same keyspace; today's order (store writes, then publish) when they do
// not, when the script fails (nothing appended by it), and, after three clean fallbacks in a row
// (a bus user the ACL keeps off the store's keys), for a pause (1 min, doubling to 15).
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
import { redisKeyspace } from "@authcache/redis-protocol";
import { startServer, type TestServer } from "@authcache/test-servers";
import { Batch, GlideClient } from "@valkey/valkey-glide";
import { keyspaceOf, type ValkeyClientConfig } from "../src/connection.ts";
import { createValkeyBus, createValkeyStore } from "../src/index.ts";

let server: TestServer;
let raw: GlideClient;
let db1: GlideClient;
const addresses = () => [{ host: server.host, port: server.port }];

beforeAll(async () => {
  server = await startServer("valkey");
  raw = await GlideClient.createClient({ addresses: addresses() });
  db1 = await GlideClient.createClient({ addresses: addresses(), databaseId: 1 });
});

afterAll(async () => {
  raw?.close();
  db1?.close();
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

/** A cache on its own store and bus (each its own clients, as separate processes). */
function instance(
  prefix: string,
  o: { busConfig?: ValkeyClientConfig; warnings?: string[] } = {},
): Side & { writes: string[]; calls: string[]; store: Store; bus: InvalidationBus } {
  const realStore = createValkeyStore({ addresses: addresses() });
  const realBus = createValkeyBus({
    addresses: addresses(),
    prefix,
    confirmIntervalMs: 100,
    ...(o.busConfig ? { clientConfig: o.busConfig } : {}),
  });
  const { store, writes } = counted(realStore);
  const { bus, calls } = countedBus(realBus);
  const cache = createAuthCache({ store, bus, prefix, logger: quiet(o.warnings) });
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

/** A follower of the log (in database `logDb`) that, as each revoke entry is delivered, takes
 *  one atomic snapshot of L2 in database 0 (MULTI: the jti's score in the revoked set, whether
 *  its not-revoked key exists). */
async function snapshotFollower(prefix: string, logDb = 0) {
  const codec = createKeyCodec({ prefix });
  const bus = createValkeyBus({
    addresses: addresses(),
    prefix,
    confirmIntervalMs: 100,
    clientConfig: { databaseId: logDb },
  });
  const seen: { jti: string; snapshot: Promise<[unknown, unknown]> }[] = [];
  await bus.subscribe({
    message(m: InvalidationMessage) {
      if (m.type !== "revoke") return;
      const snapshot = raw
        .exec(
          new Batch(true)
            .zscore(codec.revoked(), codec.revokedMember(m.jti))
            .exists([codec.notRevoked(m.jti)]),
          false, // a command's error is its reply (one test plants a WRONGTYPE set)
        )
        .then((r) => [r?.[0], r?.[1]] as [unknown, unknown]);
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

test("a store and a bus opened from one standalone address and database declare the Redis adapter's keyspace; another database, durability, a cluster, several seeds, replica reads and a given client do not", async () => {
  const store = createValkeyStore({ addresses: addresses() });
  const bus = createValkeyBus({ addresses: addresses(), prefix: "ks:" });
  const other = createValkeyStore({ addresses: addresses(), clientConfig: { databaseId: 1 } });
  const durable = createValkeyStore({
    addresses: addresses(),
    durability: { replicas: 1, timeoutMs: 10 },
  });
  const durableBus = createValkeyBus({
    addresses: addresses(),
    prefix: "ks2:",
    durability: { replicas: 1, timeoutMs: 10 },
  });
  try {
    expect(store.keyspace).toBe(redisKeyspace("127.0.0.1", server.port, 0));
    expect(store.keyspace).toBe(`redis-standalone:127.0.0.1:${server.port}/0`);
    expect(bus.keyspace).toBe(store.keyspace);
    expect(typeof bus.publishAfter).toBe("function");
    expect(other.keyspace).toBe(`redis-standalone:127.0.0.1:${server.port}/1`);
    expect(durable.keyspace).toBeUndefined();
    // A bus declares it whatever its durability (its WAIT follows the script).
    expect(durableBus.keyspace).toBe(store.keyspace);
    const seed = { host: "127.0.0.1", port: server.port };
    expect(keyspaceOf({ addresses: [seed], cluster: true })).toBeUndefined();
    expect(keyspaceOf({ addresses: [seed, { ...seed, port: seed.port + 1 }] })).toBeUndefined();
    expect(
      keyspaceOf({ addresses: [seed], clientConfig: { readFrom: "preferReplica" } }),
    ).toBeUndefined();
    expect(keyspaceOf({ addresses: [seed], clientConfig: { readFrom: "primary" } })).toBe(
      store.keyspace,
    );
    expect(keyspaceOf({ client: raw })).toBeUndefined();
    const given = createValkeyBus({ client: raw, addresses: addresses(), prefix: "ks3:" });
    expect(given.keyspace).toBeUndefined();
    expect(given.publishAfter).toBeUndefined();
    await given.close();
  } finally {
    await Promise.all([
      store.close(),
      bus.close(),
      other.close(),
      durable.close(),
      durableBus.close(),
    ]);
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
      expect({ jti, revoked: typeof score === "number", nrExists }).toEqual({
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

test("another keyspace (the bus on database 1, the store on 0): the store writes, then the bus publishes", async () => {
  const prefix = `op2-${crypto.randomUUID().slice(0, 8)}:`;
  const a = instance(prefix, { busConfig: { databaseId: 1 } });
  const watcher = await snapshotFollower(prefix, 1);
  try {
    expect(a.bus.keyspace).toBe(`redis-standalone:127.0.0.1:${server.port}/1`);
    expect(a.bus.keyspace).not.toBe(a.store.keyspace);
    await raw.set(watcher.codec.notRevoked("j"), "planted");
    await a.cache.invalidateRevocation("j", Date.now() + 600_000);
    expect([...a.writes].sort()).toEqual(["addMember", "deleteMany"]);
    expect(a.calls).toEqual(["publish"]);
    await until("the watcher saw the entry", () => watcher.seen.length === 1);
    const [score, nrExists] = await (watcher.seen[0]?.snapshot ?? Promise.reject());
    expect({ revoked: typeof score === "number", nrExists }).toEqual({
      revoked: true,
      nrExists: 0,
    });
    // The entry is in database 1's log, the writes in database 0.
    expect(await db1.xlen(`{${prefix}log}:entries`)).toBe(1);
    expect(await raw.exists([`{${prefix}log}:entries`])).toBe(0);
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
    expect(await raw.exists([watcher.codec.notRevoked("j")])).toBe(0);
  } finally {
    await watcher.bus.close();
    await a.close();
  }
});

test("a bus user the ACL keeps off the store's keys: three clean fallbacks in a row, then the instance pauses the ordered publish (and says so)", async () => {
  const prefix = `op4-${crypto.randomUUID().slice(0, 8)}:`;
  const user = `bus-${crypto.randomUUID().slice(0, 8)}`;
  await raw.customCommand([
    "ACL",
    "SETUSER",
    user,
    "on",
    ">pw",
    `~{${prefix}log}:*`,
    "&*",
    "+@all",
  ]);
  const warnings: string[] = [];
  const a = instance(prefix, {
    busConfig: { credentials: { username: user, password: "pw" } },
    warnings,
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
    await until("the watcher saw five entries", () => watcher.seen.length === 5);
    for (const { jti, snapshot } of watcher.seen) {
      const [score] = await snapshot;
      expect({ jti, revoked: typeof score === "number" }).toEqual({ jti, revoked: true });
    }
  } finally {
    await watcher.bus.close();
    await a.close();
    await raw.customCommand(["ACL", "DELUSER", user]);
  }
});

test("StoreWrite kinds the script does not know are refused before anything is sent", async () => {
  const bus = createValkeyBus({ addresses: addresses(), prefix: "op5:" });
  try {
    const bad = [{ op: "incr", key: "k" }] as unknown as StoreWrite[];
    await expect(bus.publishAfter?.(bad, { type: "user", email: "e" })).rejects.toThrow(
      /unknown store write/,
    );
    expect(await raw.exists(["{op5:log}:entries"])).toBe(0);
  } finally {
    await bus.close();
  }
});
