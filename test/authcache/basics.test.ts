import { describe, expect, test } from "bun:test";
import { createMemoryStore } from "@authcache/adapter-memory";
import { createAuthCache, DEFAULT_REDACT_FIELDS, silentLogger } from "@authcache/core";
import { countingStore, l1Only } from "./support.ts";

describe("a fresh cache", () => {
  test("misses everything with undefined, and counts the misses", async () => {
    const c = createAuthCache({ store: createMemoryStore(), logger: silentLogger });
    expect(await c.getAuthContext("a@x", "j")).toBeUndefined();
    expect(await c.getAuthContext("a@x")).toBeUndefined();
    expect(await c.getUser("a@x")).toBeUndefined();
    expect(await c.getUserRole("a@x", "t")).toBeUndefined();
    expect(await c.getUserTeams("a@x", true)).toBeUndefined();
    expect(await c.getTeamMembershipValid("a@x", ["t"])).toBeUndefined();
    expect(c.getTeamMembershipValidSync("a@x", ["t"])).toBeUndefined();
    expect(await c.isTokenRevoked("j")).toBeUndefined();
    const s = c.stats();
    expect(s.misses).toBe(8);
    expect(s.hits).toBe(0);
    expect(s.hitRate).toBe(0);
    expect(s.l2Misses).toBe(7);
    await c.close();
  });
});

describe("enabled: false", () => {
  test("gets miss, sets and invalidations are no-ops, no counter moves, resolve* always loads", async () => {
    const store = countingStore(createMemoryStore());
    const c = createAuthCache({ store, enabled: false, logger: silentLogger });
    await c.setUser("a@x", { n: 1 });
    await c.setUserRole("a@x", "t", "admin");
    await c.setUserTeams("a@x", true, ["t"]);
    await c.setTeamMembershipValid("a@x", ["t"], true);
    c.setTeamMembershipValidSync("a@x", ["t"], true);
    await c.setAuthContext("a@x", "j", { user: null, personalTeamId: null, isTokenRevoked: false });
    await c.setNotRevoked("j");
    await c.invalidateRevocation("j");
    await c.invalidateUser("a@x");
    await c.invalidateAll();
    expect(await c.getUser("a@x")).toBeUndefined();
    expect(await c.getUserRole("a@x", "t")).toBeUndefined();
    expect(await c.getUserTeams("a@x", true)).toBeUndefined();
    expect(await c.getTeamMembershipValid("a@x", ["t"])).toBeUndefined();
    expect(c.getTeamMembershipValidSync("a@x", ["t"])).toBeUndefined();
    expect(await c.getAuthContext("a@x", "j")).toBeUndefined();
    expect(await c.isTokenRevoked("j")).toBeUndefined();
    let loads = 0;
    for (let i = 0; i < 3; i++) {
      expect(await c.resolveUser("a@x", async () => ({ n: ++loads }))).toEqual({ n: loads });
      await c.resolveUserRole("a@x", "t", () => "r");
    }
    expect(loads).toBe(3);
    expect(await c.syncRevokedTokens(["j1", "j2"])).toBe(2);
    expect(await c.isTokenRevoked("j1")).toBeUndefined();
    const s = c.stats();
    expect(s.enabled).toBe(false);
    for (const k of [
      "hits",
      "misses",
      "l1Hits",
      "l2Hits",
      "l2Misses",
      "loaderCalls",
      "invalidations",
    ] as const) {
      expect(s[k]).toBe(0);
    }
    expect(store.total()).toBe(0);
    await c.close();
  });
});

describe("options", () => {
  const cases: [string, object][] = [
    ["ttl.user", { ttl: { user: -1 } }],
    ["ttl.revocation", { ttl: { revocation: 0 } }],
    ["ttl.team", { ttl: { team: Number.NaN } }],
    ["ttl.role", { ttl: { role: "60" } }],
    ["ttl.teamsList", { ttl: { teamsList: -5 } }],
    ["l1.maxEntries", { l1: { maxEntries: 0 } }],
    ["l1.maxEntries", { l1: { maxEntries: 1.5 } }],
    ["maxStaleMs", { maxStaleMs: -1 }],
    ["l2.timeoutMs", { l2: { timeoutMs: 0 } }],
    ["l2.breaker.failures", { l2: { breaker: { failures: 0 } } }],
    ["prefix", { prefix: "a{b}" }],
    ["enabled", { enabled: "yes" }],
    ["redactFields", { redactFields: "password" }],
    ["store", { store: {} }],
    ["hashIdentifiers.key", { hashIdentifiers: { key: "" } }],
  ];
  for (const [name, options] of cases) {
    test(`an invalid ${name} throws a RangeError naming it`, () => {
      expect(() => createAuthCache(options as never)).toThrow(RangeError);
      expect(() => createAuthCache(options as never)).toThrow(name);
    });
  }
});

describe("bad input", () => {
  test("a TypeError names the argument, and nothing cached changes", async () => {
    const store = countingStore(createMemoryStore());
    const c = createAuthCache({ store, logger: silentLogger });
    await c.setUser("a@x", { n: 1 });
    await c.setUserTeams("a@x", true, ["t"]);
    const before = store.total();
    // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input
    const bad = c as any;
    const cases: [() => unknown, string][] = [
      [() => bad.getUser(42), "email"],
      [() => bad.setUser(null, { n: 2 }), "email"],
      [() => bad.setUser("a@x", "not an object"), "user"],
      [() => bad.setUser("a@x", [1]), "user"],
      [() => bad.getAuthContext("a@x", 5), "jti"],
      [() => bad.setAuthContext("a@x", "j", { user: 5 }), "ctx.user"],
      [() => bad.setAuthContext("a@x", "j", "ctx"), "ctx"],
      [
        () => bad.setAuthContext("a@x", "j", { user: null, isTokenRevoked: "no" }),
        "ctx.isTokenRevoked",
      ],
      [() => bad.setUserTeams("a@x", true, "t"), "teamIds"],
      [() => bad.setUserTeams("a@x", true, [1]), "teamIds"],
      [() => bad.getUserTeams("a@x", "yes"), "includePersonal"],
      [() => bad.getTeamMembershipValid("a@x", "t"), "teamIds"],
      [() => bad.getTeamMembershipValidSync("a@x", {}), "teamIds"],
      [() => bad.setTeamMembershipValid("a@x", ["t"], "true"), "valid"],
      [() => bad.setUserRole("a@x", "t", 3), "role"],
      [() => bad.getUserRole("a@x", undefined), "teamId"],
      [() => bad.isTokenRevoked(undefined), "jti"],
      [() => bad.invalidateUser({}), "email"],
      [() => bad.invalidateRevocation("j", "tomorrow"), "expiresAt"],
      [() => bad.resolveUser("a@x", "not a function"), "loader"],
      [() => bad.syncRevokedTokens(42), "source"],
    ];
    for (const [call, argument] of cases) {
      let error: unknown;
      try {
        await call();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect(String((error as Error).message)).toContain(argument);
    }
    expect(store.total()).toBe(before);
    expect(await c.getUser("a@x")).toEqual({ n: 1 });
    expect(await c.getUserTeams("a@x", true)).toEqual(["t"]);
    await c.close();
  });
});

describe("users", () => {
  test("setUser removes password-hash fields by default, before L1 and L2", async () => {
    const store = createMemoryStore();
    const c = createAuthCache({ store, logger: silentLogger });
    await c.setUser("a@x", { email: "a@x", password_hash: "h", passwordHash: "h", is_admin: true });
    expect(await c.getUser("a@x")).toEqual({ email: "a@x", is_admin: true });
    const other = createAuthCache({ store, logger: silentLogger });
    expect(await other.getUser("a@x")).toEqual({ email: "a@x", is_admin: true });
    expect(DEFAULT_REDACT_FIELDS).toContain("password_hash");
    await c.setAuthContext("a@x", "j", {
      user: { email: "a@x", password_hash: "h" },
      personalTeamId: "p",
      isTokenRevoked: false,
    });
    expect((await other.getAuthContext("a@x", "j"))?.user).toEqual({ email: "a@x" });
    await c.close();
    await other.close();
  });

  test("redactFields replaces the default list", async () => {
    const c = l1Only({ redactFields: ["secret"] });
    await c.setUser("a@x", { secret: 1, password_hash: "h" });
    expect(await c.getUser("a@x")).toEqual({ password_hash: "h" });
    await c.close();
  });

  test("values handed out are frozen copies, never the caller's object", async () => {
    const c = l1Only();
    const user = { name: "A", tags: ["x"] };
    await c.setUser("a@x", user);
    user.name = "changed";
    const got = await c.getUser("a@x");
    expect(got).toEqual({ name: "A", tags: ["x"] });
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen((got as { tags: string[] }).tags)).toBe(true);
    await c.close();
  });
});

describe("stats", () => {
  test("rates are 0 when nothing was counted, and resetStats zeroes the counters", async () => {
    const c = l1Only();
    expect(c.stats().hitRate).toBe(0);
    expect(c.stats().l2HitRate).toBe(0);
    await c.setUser("a@x", { n: 1 });
    await c.getUser("a@x");
    await c.getUser("b@x");
    await c.resolveUser("c@x", () => ({ n: 2 }));
    await c.invalidateUser("c@x");
    let s = c.stats();
    expect(s.hits).toBe(1);
    expect(s.misses).toBe(2);
    expect(s.hitRate).toBeCloseTo(1 / 3);
    expect(s.loaderCalls).toBe(1);
    expect(s.invalidations).toBe(1);
    expect(s.l1Size).toBe(1);
    c.resetStats();
    s = c.stats();
    for (const k of [
      "hits",
      "misses",
      "hitRate",
      "loaderCalls",
      "invalidations",
      "l1Evictions",
    ] as const) {
      expect(s[k]).toBe(0);
    }
    expect(s.l1Size).toBe(1); // sizes are state, not counters
    for (const k of [
      "l1Hits",
      "l2Hits",
      "l2Misses",
      "l2Errors",
      "l2Healthy",
      "busState",
      "revokedCount",
      "staleFillsRejected",
      "decodeErrors",
      "busDropped",
    ] as const) {
      expect(k in s).toBe(true);
    }
    await c.close();
  });

  test("L1 evictions are counted and L1 never exceeds maxEntries", async () => {
    const c = l1Only({ l1: { maxEntries: 10 } });
    for (let i = 0; i < 100; i++) await c.setUser(`u${i}@x`, { i });
    expect(c.stats().l1Size).toBeLessThanOrEqual(10);
    expect(c.stats().l1Evictions).toBeGreaterThanOrEqual(90);
    await c.close();
  });

  test("close is idempotent", async () => {
    const c = l1Only();
    await c.close();
    await c.close();
  });
});
