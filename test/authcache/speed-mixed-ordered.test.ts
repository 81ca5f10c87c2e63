// Attack on the issue-18 ordered publish in a mixed fleet (helper F): instance R on
// adapter-redis (ioredis) and instance V on adapter-valkey (valkey-glide), one Valkey server,
// each with its store and bus in one keyspace (so each revokes through its own appendAfter
// script). A revocation made through either is refused by the other (which holds the token's
// context in L1), and by an instance of either kind opened afterwards (only L2 can tell it), and
// the two adapters name that server's keyspace with one string.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createValkeyBus, createValkeyStore } from "@authcache/adapter-valkey";
import { type AuthCache, createAuthCache } from "@authcache/core";
import type { InvalidationBus, Store } from "@authcache/core/adapter";
import { startServer, type TestServer } from "@authcache/test-servers";
import { context, quiet } from "../support/fixtures.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer("valkey");
});
afterAll(async () => {
  await server?.stop();
});

interface Side {
  cache: AuthCache;
  store: Store;
  bus: InvalidationBus;
  calls: string[];
  close(): Promise<void>;
}

function open(kind: "redis" | "valkey", prefix: string): Side {
  const address = { host: server.host, port: server.port };
  const store =
    kind === "redis" ? createRedisStore(address) : createValkeyStore({ addresses: [address] });
  const bus =
    kind === "redis"
      ? createRedisBus({ ...address, prefix, confirmIntervalMs: 100 })
      : createValkeyBus({ addresses: [address], prefix, confirmIntervalMs: 100 });
  const calls: string[] = [];
  const watched = new Proxy(bus, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t) as unknown;
      if (typeof v !== "function" || (prop !== "publish" && prop !== "publishAfter")) return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  const cache = createAuthCache({ store, bus: watched, prefix, logger: quiet, maxStaleMs: 1_000 });
  return {
    cache,
    store,
    bus,
    calls,
    async close() {
      await cache.close();
      await bus.close();
      await store.close();
    },
  };
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting until ${what}`);
}

for (const [from, to] of [
  ["redis", "valkey"],
  ["valkey", "redis"],
] as const) {
  test(`revoked through ${from}'s ordered publish: ${to} (context in L1) refuses it, and fresh instances of both kinds do`, async () => {
    const prefix = `mx-${from}-${crypto.randomUUID().slice(0, 8)}:`;
    const a = open(from, prefix);
    const b = open(to, prefix);
    const later: Side[] = [];
    try {
      expect(a.store.keyspace).toBeDefined();
      expect(a.bus.keyspace).toBe(a.store.keyspace as string);
      expect(b.store.keyspace).toBe(a.store.keyspace as string);
      await until(
        "both trusted",
        async () => a.cache.stats().l1Trusted && b.cache.stats().l1Trusted,
      );
      const email = `${from}@example.com`;
      await b.cache.setAuthContext(email, "jx", context(email));
      await b.cache.setNotRevoked("jx");
      expect(b.cache.getAuthContextSync(email, "jx")?.isTokenRevoked).toBe(false);
      await a.cache.invalidateRevocation("jx", Date.now() + 600_000);
      expect(a.calls).toEqual(["publishAfter"]);
      await until(
        `${to} refuses it`,
        async () => b.cache.getAuthContextSync(email, "jx")?.isTokenRevoked === true,
      );
      expect(await b.cache.isTokenRevoked("jx")).toBe(true);
      for (const kind of ["redis", "valkey"] as const) {
        const fresh = open(kind, prefix);
        later.push(fresh);
        expect({ kind, revoked: await fresh.cache.isTokenRevoked("jx") }).toEqual({
          kind,
          revoked: true,
        });
        expect({
          kind,
          ctx: (await fresh.cache.getAuthContext(email, "jx"))?.isTokenRevoked,
        }).toEqual({ kind, ctx: true });
      }
    } finally {
      for (const s of [...later, a, b]) await s.close();
    }
  });
}

// Was a HOLE (same defect as in speed-guarantees.test.ts, adapter-redis keyspaceOf ignores ioredis's
// keyPrefix), across adapters: an ioredis store whose client prefixes its keys and a glide bus
// on the same server declare one keyspace, so the glide script writes the revocation where the
// store never reads it. Fixed by C: an ioredis client with keyPrefix declares no keyspace.
test("an ioredis store with keyPrefix and a valkey-glide bus on one server: a revocation must reach the store's L2", async () => {
  const prefix = `mxp-${crypto.randomUUID().slice(0, 8)}:`;
  const address = { host: server.host, port: server.port };
  const storeOf = () => createRedisStore({ ...address, redisOptions: { keyPrefix: "tenant-b:" } });
  const store = storeOf();
  const bus = createValkeyBus({ addresses: [address], prefix, confirmIntervalMs: 100 });
  const a = createAuthCache({ store, bus, prefix, logger: quiet });
  const laterStore = storeOf();
  const later = createAuthCache({ store: laterStore, prefix, logger: quiet });
  try {
    await a.invalidateRevocation("jp", Date.now() + 600_000); // resolves
    expect(await later.isTokenRevoked("jp")).toBe(true);
  } finally {
    await a.close();
    await later.close();
    await bus.close();
    await store.close();
    await laterStore.close();
  }
});
