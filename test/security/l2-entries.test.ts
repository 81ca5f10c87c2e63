/**
 * What L2 hands back is checked before it is believed, on every backend (memory, Redis through
 * ioredis, Valkey through valkey-glide, libSQL on a file): two caches share one store and a
 * third store handle on the same backend plays the attacker (or the operator's mistake) with
 * write access to L2.
 *
 * - Issue 13 defect 7: a deeply nested value in L2 is a counted miss (the loader runs), never a
 *   RangeError; a too-deep value handed to set* is a TypeError naming the argument.
 * - Defect 8: an absurd expiry is a RangeError naming the argument (or, in a bulk sync, a
 *   clamped deadline); one call never breaks another's L2 write.
 * - Defect 9: an entry is bound to its key (copied to another key, it is a miss); with
 *   `hashIdentifiers` it is authenticated (tampered, it is a miss); a generation from the future
 *   is refused; entries of the previous envelope version are counted misses.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLibsqlStore } from "@authcache/adapter-libsql";
import { createMemoryStore } from "@authcache/adapter-memory";
import { createRedisStore } from "@authcache/adapter-redis";
import { createValkeyStore } from "@authcache/adapter-valkey";
import {
  type AuthCache,
  type AuthCacheOptions,
  createAuthCache,
  type Store,
  silentLogger,
} from "@authcache/core";
import { createKeyCodec, type KeyCodec } from "@authcache/core/adapter";
import { startServer, type TestServer } from "@authcache/test-servers";
import { Logger as GlideLogger } from "@valkey/valkey-glide";

type BackendName = "memory" | "redis" | "valkey" | "libsql";
const BACKENDS: readonly BackendName[] = ["memory", "redis", "valkey", "libsql"];

const servers: Partial<Record<"redis" | "valkey", TestServer>> = {};
const closers: (() => Promise<unknown>)[] = [];
let dir = "";
let memory: Store | undefined;

beforeAll(async () => {
  GlideLogger.init("error");
  servers.redis = await startServer("redis");
  servers.valkey = await startServer("valkey");
  dir = mkdtempSync(join(tmpdir(), "authcache-l2-entries-"));
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await servers.redis?.stop();
  await servers.valkey?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A new store handle on the backend (memory: the one shared in-process store). */
function openStore(backend: BackendName): Store {
  let store: Store;
  switch (backend) {
    case "memory":
      memory ??= createMemoryStore();
      return memory;
    case "redis":
      store = createRedisStore({ url: (servers.redis as TestServer).url });
      break;
    case "valkey": {
      const s = servers.valkey as TestServer;
      store = createValkeyStore({ addresses: [{ host: s.host, port: s.port }] });
      break;
    }
    case "libsql":
      store = createLibsqlStore({ url: `file:${join(dir, "l2.db")}` });
      break;
  }
  closers.push(() => store.close());
  return store;
}

let run = 0;

/** Two caches sharing one L2 (store only: every read of a fresh key goes to L2), a raw handle
 *  on the same L2, and the key codec the caches use. Each call gets its own prefix. */
function setup(
  backend: BackendName,
  options: AuthCacheOptions = {},
): { a: AuthCache; b: AuthCache; raw: Store; codec: KeyCodec; fresh(): AuthCache } {
  const prefix = `l2e${++run}:`;
  const codec = createKeyCodec({ prefix, hashIdentifiers: options.hashIdentifiers });
  const make = (): AuthCache => {
    const cache = createAuthCache({
      store: openStore(backend),
      prefix,
      logger: silentLogger,
      l2: { timeoutMs: 2_000 },
      ...options,
    });
    closers.push(() => cache.close());
    return cache;
  };
  return { a: make(), b: make(), raw: openStore(backend), codec, fresh: make };
}

const HOUR = 3_600_000;
const admin = "admin@corp.example";
const victim = "mallory@corp.example";
const adminCtx = {
  user: { email: admin, isAdmin: true, name: "Admin" },
  personalTeamId: "team-admin",
  isTokenRevoked: false,
};
const victimCtx = {
  user: { email: victim, isAdmin: false, name: "Mallory" },
  personalTeamId: "team-mallory",
  isTokenRevoked: false,
};

/** `{"a":{"a":...{}...}}`, `depth` objects deep, as JSON text (never built as an object). */
function deepJson(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}{}${"}".repeat(depth - 1)}`;
}

/** An object `depth` levels deep. */
function deepObject(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let at = root;
  for (let i = 1; i < depth; i++) {
    const next: Record<string, unknown> = {};
    at.a = next;
    at = next;
  }
  return root;
}

/** Replaces the value (`"x"`) of a stored entry by `json`, keeping every other field. */
function withValue(entry: string, json: string): string {
  const value = JSON.stringify((JSON.parse(entry) as { x: unknown }).x);
  const at = entry.lastIndexOf(value);
  expect(at).toBeGreaterThan(0);
  return entry.slice(0, at) + json + entry.slice(at + value.length);
}

for (const backend of BACKENDS) {
  describe(`${backend}: deep values (defect 7)`, () => {
    test("a deeply nested user in L2 is a counted miss: getUser misses, resolveUser runs its loader and repairs L2", async () => {
      const { a, b, raw, codec, fresh } = setup(backend);
      const email = "deep@corp.example";
      await a.getUser(email);
      await a.setUser(email, { email, n: 1 });
      const key = codec.user(email);
      const good = await raw.get(key);
      expect(good).toBeString();
      await raw.set(key, withValue(good as string, deepJson(100_000)), Date.now() + HOUR);

      const before = b.stats();
      expect(await b.getUser(email)).toBeUndefined();
      const after = b.stats();
      expect(after.decodeErrors).toBe(before.decodeErrors + 1);
      expect(after.misses).toBe(before.misses + 1);

      let loads = 0;
      const loaded = await b.resolveUser(email, async () => {
        loads++;
        return { email, n: 2 };
      });
      expect(loads).toBe(1);
      expect(loaded).toEqual({ email, n: 2 });
      // The refill replaced the deep entry for everyone.
      expect(await fresh().getUser(email)).toEqual({ email, n: 2 });
    });

    test("a context whose user is nested too deep is a counted miss", async () => {
      const { a, b, raw, codec } = setup(backend);
      await a.getAuthContext(admin, "j-deep");
      await a.setAuthContext(admin, "j-deep", adminCtx);
      const key = codec.ctx(admin, "j-deep");
      const good = (await raw.get(key)) as string;
      const deep = `{"user":${deepJson(100_000)},"personalTeamId":null,"isTokenRevoked":false}`;
      await raw.set(key, withValue(good, deep), Date.now() + HOUR);
      const before = b.stats().decodeErrors;
      expect(await b.getAuthContext(admin, "j-deep")).toBeUndefined();
      expect(b.stats().decodeErrors).toBe(before + 1);
    });

    test("set* with a value nested past the limit is a TypeError naming the argument; the next call is served", async () => {
      const { a, b } = setup(backend);
      const email = "deep-set@corp.example";
      await expect(a.setUser(email, deepObject(5_000))).rejects.toThrow(TypeError);
      await expect(a.setUser(email, deepObject(5_000))).rejects.toThrow(/user/);
      await expect(
        a.setAuthContext(email, "j", { ...adminCtx, user: deepObject(5_000) }),
      ).rejects.toThrow(/ctx\.user/);
      await expect(a.resolveUser(email, () => deepObject(5_000))).rejects.toThrow(/loader result/);
      // Nothing was stored: the other instance misses, and a normal value round-trips.
      expect(await b.getUser(email)).toBeUndefined();
      await a.setUser(email, { email, ok: true });
      expect(await b.getUser(email)).toEqual({ email, ok: true });
      // A value at the documented limit (64 levels) is accepted and read back on the other side.
      const limit = deepObject(64);
      await a.getUser("limit@corp.example");
      await a.setUser("limit@corp.example", limit);
      expect(await b.getUser("limit@corp.example")).toEqual(limit);
    });
  });

  describe(`${backend}: absurd expiries (defect 8)`, () => {
    test("invalidateRevocation(jti, 1e300) is a RangeError naming expiresAt; later revocations still reach L2", async () => {
      const { a, b } = setup(backend);
      for (const absurd of [1e300, Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 8.64e15]) {
        await expect(a.invalidateRevocation("j-absurd", absurd)).rejects.toThrow(RangeError);
        await expect(a.invalidateRevocation("j-absurd", absurd)).rejects.toThrow(/expiresAt/);
      }
      // Another instance, another jti: its L2 write works.
      await b.invalidateRevocation("j-next", Date.now() + HOUR);
      await b.invalidateRevocation("j-next-2");
      expect(await a.isTokenRevoked("j-next")).toBe(true);
      expect(await a.isTokenRevoked("j-next-2")).toBe(true);
      // The largest accepted deadline (now + 10 years) works on the store too.
      await a.invalidateRevocation("j-far", Date.now() + 9 * 365 * 24 * HOUR);
      expect(await b.isTokenRevoked("j-far")).toBe(true);
    });

    test("syncRevokedTokens clamps an absurd expiresAt: the token is revoked and later revocations still reach L2", async () => {
      const { a, b, fresh } = setup(backend);
      const n = await a.syncRevokedTokens([
        { jti: "j-sync-absurd", expiresAt: 1e300 },
        { jti: "j-sync-max", expiresAt: Number.MAX_VALUE },
      ]);
      expect(n).toBe(2);
      expect(await a.isTokenRevoked("j-sync-absurd")).toBe(true);
      await b.invalidateRevocation("j-after-sync", Date.now() + HOUR);
      const c = fresh();
      expect(await c.isTokenRevoked("j-after-sync")).toBe(true);
      expect(await c.isTokenRevoked("j-sync-absurd")).toBe(true);
      expect(await c.isTokenRevoked("j-sync-max")).toBe(true);
    });
  });

  describe(`${backend}: entries bound to their key (defect 9)`, () => {
    for (const mode of ["plain", "hmac"] as const) {
      const options: AuthCacheOptions =
        mode === "hmac" ? { hashIdentifiers: { key: "l2-entries-secret" } } : {};

      test(`${mode}: an auth context copied from the admin's key to another user's key is a counted miss`, async () => {
        const { a, b, raw, codec } = setup(backend, options);
        await a.getAuthContext(admin, "j-admin");
        await a.setAuthContext(admin, "j-admin", adminCtx);
        const stolen = await raw.get(codec.ctx(admin, "j-admin"));
        expect(stolen).toBeString();
        await raw.set(codec.ctx(victim, "j-victim"), stolen as string, Date.now() + HOUR);
        const before = b.stats();
        expect(await b.getAuthContext(victim, "j-victim")).toBeUndefined();
        expect(b.stats().decodeErrors).toBe(before.decodeErrors + 1);
        const loaded = await b.resolveAuthContext(victim, "j-victim", async () => victimCtx);
        expect(loaded).toEqual(victimCtx);
        // The admin's own entry is still served where it belongs.
        expect(await b.getAuthContext(admin, "j-admin")).toEqual(adminCtx);
      });

      test(`${mode}: a role copied to another team's key is a counted miss`, async () => {
        const { a, b, raw, codec } = setup(backend, options);
        await a.getUserRole(victim, "team-a");
        await a.setUserRole(victim, "team-a", "owner");
        const entry = (await raw.get(codec.role(victim, "team-a"))) as string;
        await raw.set(codec.role(victim, "team-b"), entry, Date.now() + HOUR);
        expect(await b.getUserRole(victim, "team-b")).toBeUndefined();
        expect(await b.getUserRole(victim, "team-a")).toBe("owner");
      });

      test(`${mode}: an entry stamped with a generation from the future does not survive invalidateAll`, async () => {
        const { a, b, raw, codec, fresh } = setup(backend, options);
        const email = "future@corp.example";
        await a.getUser(email);
        await a.setUser(email, { email, v: "old" });
        const key = codec.user(email);
        const entry = (await raw.get(key)) as string;
        expect(entry).toContain('"g":0');
        await raw.set(key, entry.replace('"g":0', '"g":1000000'), Date.now() + HOUR);
        const before = b.stats().decodeErrors;
        expect(await b.getUser(email)).toBeUndefined();
        expect(b.stats().decodeErrors).toBe(before + 1);
        await a.invalidateAll();
        expect(await fresh().getUser(email)).toBeUndefined();
      });

      test(`${mode}: an entry of the previous envelope version is a counted miss, then refilled`, async () => {
        const { b, raw, codec } = setup(backend, options);
        const email = "v1@corp.example";
        await raw.set(
          codec.user(email),
          `{"v":1,"k":"user","g":0,"x":{"email":"${email}","isAdmin":true}}`,
          Date.now() + HOUR,
        );
        const before = b.stats().decodeErrors;
        expect(await b.getUser(email)).toBeUndefined();
        expect(b.stats().decodeErrors).toBe(before + 1);
        expect(await b.resolveUser(email, () => ({ email, isAdmin: false }))).toEqual({
          email,
          isAdmin: false,
        });
      });
    }

    test("hmac: a tampered value under the right key (the identity left intact) is a counted miss", async () => {
      const { a, b, raw, codec } = setup(backend, { hashIdentifiers: { key: "tamper-secret" } });
      await a.getAuthContext(victim, "j-t");
      await a.setAuthContext(victim, "j-t", victimCtx);
      const key = codec.ctx(victim, "j-t");
      const entry = (await raw.get(key)) as string;
      const forged = entry.replace('"isAdmin":false', '"isAdmin":true');
      expect(forged).not.toBe(entry);
      await raw.set(key, forged, Date.now() + HOUR);
      const before = b.stats().decodeErrors;
      expect(await b.getAuthContext(victim, "j-t")).toBeUndefined();
      expect(b.stats().decodeErrors).toBe(before + 1);
    });

    test("hmac: an entry stripped of its authenticator is a counted miss", async () => {
      const { a, b, raw, codec } = setup(backend, { hashIdentifiers: { key: "strip-secret" } });
      await a.getUser(victim);
      await a.setUser(victim, { email: victim, isAdmin: false });
      const key = codec.user(victim);
      const entry = (await raw.get(key)) as string;
      const stripped = entry.replace(/"m":"[^"]*",?/, "");
      expect(stripped).not.toBe(entry);
      await raw.set(key, stripped, Date.now() + HOUR);
      const before = b.stats().decodeErrors;
      expect(await b.getUser(victim)).toBeUndefined();
      expect(b.stats().decodeErrors).toBe(before + 1);
    });
  });
}
