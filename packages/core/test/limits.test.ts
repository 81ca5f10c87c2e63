/**
 * The documented limits of what core accepts and writes: value nesting (MAX_VALUE_DEPTH),
 * lifetimes and deadlines (MAX_LIFETIME_MS), timer delays (MAX_DELAY_MS). Issue 13, defects
 * 7 and 8.
 */
import { describe, expect, test } from "bun:test";
import { createKeyCodec, encodeEnvelope } from "../src/adapter.ts";
import {
  createAuthCache,
  MAX_DELAY_MS,
  MAX_LIFETIME_MS,
  MAX_VALUE_DEPTH,
  silentLogger,
} from "../src/index.ts";
import {
  adoptContext,
  adoptUser,
  checkExpiresAt,
  copyContext,
  copyUser,
  deepFreeze,
  nestedWithin,
} from "../src/values.ts";
import { MapStore } from "./support/map-store.ts";

/** An object nested `depth` levels deep (`{a:{a:...}}`). */
function deep(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let at = root;
  for (let i = 1; i < depth; i++) {
    const next: Record<string, unknown> = {};
    at.a = next;
    at = next;
  }
  return root;
}

describe("value nesting (MAX_VALUE_DEPTH)", () => {
  test("nestedWithin counts objects and arrays, scalars are level 0, any depth is safe", () => {
    expect(MAX_VALUE_DEPTH).toBe(64);
    expect(nestedWithin(1, 0)).toBe(true);
    expect(nestedWithin({}, 1)).toBe(true);
    expect(nestedWithin({}, 0)).toBe(false);
    expect(nestedWithin([[{ a: [] }]], 4)).toBe(true);
    expect(nestedWithin([[{ a: [] }]], 3)).toBe(false);
    expect(nestedWithin(deep(64), 64)).toBe(true);
    expect(nestedWithin(deep(65), 64)).toBe(false);
    expect(nestedWithin(deep(1_000_000), 64)).toBe(false);
  });

  test("deepFreeze freezes everything, at any depth, without a RangeError", () => {
    const v = deep(200_000);
    expect(deepFreeze(v)).toBe(v);
    let at: Record<string, unknown> | undefined = v;
    let n = 0;
    while (at !== undefined) {
      expect(Object.isFrozen(at)).toBe(true);
      at = at.a as Record<string, unknown> | undefined;
      n++;
    }
    expect(n).toBe(200_000);
  });

  test("copies of caller values: at the limit accepted, past it a TypeError naming the argument", () => {
    expect(copyUser(deep(64), [], "user")).toEqual(deep(64));
    expect(() => copyUser(deep(65), [], "user")).toThrow(TypeError);
    expect(() => copyUser(deep(65), [], "user")).toThrow(/user must be .*nested at most 64/);
    // Refused before JSON.stringify runs (which takes seconds at this depth): a TypeError.
    expect(() => copyUser(deep(200_000), [], "user")).toThrow(TypeError);
    const ctx = { user: deep(65), personalTeamId: null, isTokenRevoked: false };
    expect(() => copyContext(ctx, [], "ctx")).toThrow(/ctx\.user/);
  });

  test("values adopted from L2 are checked, redacted and frozen in place (no copy)", () => {
    const user = { email: "a@x", password: "h", nested: { k: [1] } };
    const adopted = adoptUser(user, ["password"]);
    expect(adopted).toBe(user);
    expect(adopted).toEqual({ email: "a@x", nested: { k: [1] } });
    expect(Object.isFrozen(adopted.nested)).toBe(true);
    expect(() => adoptUser(deep(65), [])).toThrow(TypeError);
    expect(() => adoptUser([], [])).toThrow(TypeError);
    const ctx = adoptContext({ user: { email: "a@x", password: "h" }, isTokenRevoked: false }, [
      "password",
    ]);
    expect(ctx).toEqual({ user: { email: "a@x" }, personalTeamId: null, isTokenRevoked: false });
    expect(() => adoptContext({ user: "admin" }, [])).toThrow(TypeError);
    expect(() => adoptContext({ user: null, isTokenRevoked: "no" }, [])).toThrow(TypeError);
  });

  test("a deeply nested L2 user is a counted miss; getUser and resolveUser never reject", async () => {
    const store = new MapStore();
    const cache = createAuthCache({ store, logger: silentLogger });
    const key = createKeyCodec({ prefix: "authcache:" }).user("a@x");
    const good = encodeEnvelope(key, "user", 0, { email: "a@x" }, false);
    const deepJson = `${'{"a":'.repeat(99_999)}{}${"}".repeat(99_999)}`;
    await store.set(key, good.replace('{"email":"a@x"}', deepJson), Date.now() + 60_000);
    expect(await cache.getUser("a@x")).toBeUndefined();
    expect(cache.stats().decodeErrors).toBe(1);
    let loads = 0;
    expect(
      await cache.resolveUser("a@x", () => {
        loads++;
        return { email: "a@x" };
      }),
    ).toEqual({ email: "a@x" });
    expect(loads).toBe(1);
    expect(await store.get(key)).toContain('"x":{"email":"a@x"}');
    await cache.close();
  });
});

describe("value nesting of L2 entries, checked in the one walk that adopts them (issue 18)", () => {
  // The envelope is not depth-checked on the read path (EnvelopeCodec.open): each kind's accept
  // bounds its own walk. Values nested exactly at the limit are hits; one level more, misses.
  const codec = createKeyCodec({ prefix: "authcache:" });
  const put = async (store: MapStore, key: string, kind: string, value: unknown) =>
    store.set(key, encodeEnvelope(key, kind, 0, value, false), Date.now() + 60_000);

  test("a context whose user is nested past MAX_VALUE_DEPTH is a counted miss; at it, a hit", async () => {
    const store = new MapStore();
    const cache = createAuthCache({ store, logger: silentLogger });
    await put(store, codec.ctx("a@x", "j1"), "ctx", {
      user: deep(MAX_VALUE_DEPTH),
      personalTeamId: null,
      isTokenRevoked: false,
    });
    await put(store, codec.ctx("b@x", "j2"), "ctx", {
      user: deep(MAX_VALUE_DEPTH + 1),
      personalTeamId: null,
      isTokenRevoked: false,
    });
    const hit = await cache.getAuthContext("a@x", "j1");
    expect(hit?.user).toEqual(deep(MAX_VALUE_DEPTH));
    expect(Object.isFrozen((hit?.user as Record<string, unknown> | undefined)?.a)).toBe(true);
    expect(await cache.getAuthContext("b@x", "j2")).toBeUndefined();
    expect(cache.stats().decodeErrors).toBe(1);
    await cache.close();
  });

  test("team records nested past MAX_VALUE_DEPTH are a counted miss; a deep field a context does not keep is dropped", async () => {
    const store = new MapStore();
    const cache = createAuthCache({ store, logger: silentLogger });
    await put(store, codec.teamObjects("a@x", true), "teamObjects", [{ id: "t" }, deep(65)]);
    expect(await cache.getUserTeamObjects("a@x", true)).toBeUndefined();
    expect(cache.stats().decodeErrors).toBe(1);
    await put(store, codec.ctx("c@x", "j3"), "ctx", {
      user: { email: "c@x" },
      personalTeamId: "p",
      isTokenRevoked: false,
      extra: deep(10_000),
    });
    expect(await cache.getAuthContext("c@x", "j3")).toEqual({
      user: { email: "c@x" },
      personalTeamId: "p",
      isTokenRevoked: false,
    });
    expect(cache.stats().decodeErrors).toBe(1);
    await cache.close();
  });
});

describe("lifetimes and deadlines (MAX_LIFETIME_MS, MAX_DELAY_MS)", () => {
  test("checkExpiresAt: nullish passes, wrong types are a TypeError, past the bound a RangeError", () => {
    const now = 1_800_000_000_000;
    expect(MAX_LIFETIME_MS).toBe(10 * 365 * 86_400_000);
    expect(checkExpiresAt(undefined, now)).toBeUndefined();
    expect(checkExpiresAt(null, now)).toBeUndefined();
    expect(checkExpiresAt(now + MAX_LIFETIME_MS, now)).toBe(now + MAX_LIFETIME_MS);
    expect(checkExpiresAt(0, now)).toBe(0);
    for (const bad of ["x", Number.NaN, Number.POSITIVE_INFINITY, {}]) {
      expect(() => checkExpiresAt(bad, now)).toThrow(TypeError);
    }
    for (const absurd of [now + MAX_LIFETIME_MS + 1, 8.64e15, Number.MAX_VALUE, 1e300]) {
      expect(() => checkExpiresAt(absurd, now)).toThrow(RangeError);
      expect(() => checkExpiresAt(absurd, now)).toThrow(/expiresAt/);
    }
  });

  test("options past their maximum are a RangeError naming the option", () => {
    const cases: [string, object][] = [
      ["ttl.user", { ttl: { user: 1e300 } }],
      ["ttl.revocation", { ttl: { revocation: MAX_LIFETIME_MS + 1 } }],
      ["ttl.team", { ttl: { team: Number.MAX_VALUE } }],
      ["ttl.role", { ttl: { role: 1e20 } }],
      ["ttl.teamsList", { ttl: { teamsList: 1e20 } }],
      ["revocationRetentionMs", { revocationRetentionMs: 1e300 }],
      ["maxStaleMs", { maxStaleMs: MAX_DELAY_MS + 1 }],
      ["l2.timeoutMs", { l2: { timeoutMs: 1e10 } }],
      ["l2.breaker.resetMs", { l2: { breaker: { resetMs: 1e10 } } }],
    ];
    for (const [name, options] of cases) {
      expect(() => createAuthCache(options as never)).toThrow(RangeError);
      expect(() => createAuthCache(options as never)).toThrow(name);
    }
    const atMax = createAuthCache({
      ttl: { user: MAX_LIFETIME_MS },
      revocationRetentionMs: MAX_LIFETIME_MS,
      maxStaleMs: MAX_DELAY_MS,
      l2: { timeoutMs: MAX_DELAY_MS },
      logger: silentLogger,
    });
    expect(atMax.stats().enabled).toBe(true);
  });

  test("no deadline handed to the store is past now + MAX_LIFETIME_MS", async () => {
    const now = 1_800_000_000_000;
    const store = new MapStore(() => now);
    const deadlines: number[] = [];
    const spy = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          if (prop === "set" || prop === "setIfFence" || prop === "addMember") {
            deadlines.push(args[2] as number);
          }
          if (prop === "incr" && typeof args[1] === "number") deadlines.push(args[1]);
          return v.apply(target, args);
        };
      },
    });
    const cache = createAuthCache({
      store: spy,
      logger: silentLogger,
      now: () => now,
      ttl: { user: MAX_LIFETIME_MS },
    });
    await expect(cache.invalidateRevocation("j1", 1e300)).rejects.toThrow(RangeError);
    await cache.invalidateRevocation("j2", now + MAX_LIFETIME_MS);
    await cache.syncRevokedTokens([{ jti: "j3", expiresAt: 1e300 }, "j4"]);
    await cache.setUser("a@x", { email: "a@x" });
    await cache.invalidateUser("a@x");
    expect(deadlines.length).toBeGreaterThanOrEqual(5);
    for (const d of deadlines) {
      expect(Number.isFinite(d)).toBe(true);
      expect(d).toBeLessThanOrEqual(now + MAX_LIFETIME_MS);
    }
    expect(await cache.isTokenRevoked("j3")).toBe(true);
    await cache.close();
  });
});
