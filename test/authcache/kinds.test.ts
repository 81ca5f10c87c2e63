import { afterEach, describe, expect, test } from "bun:test";
import { createMemoryStore } from "@authcache/adapter-memory";
import { type AuthCache, createAuthCache, InvalidationError, silentLogger } from "@authcache/core";
import { countingStore, fleet, l1Only } from "./support.ts";

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});
function track<T extends { close(): Promise<void> }>(c: T): T {
  open.push(c);
  return c;
}

const ctx = { user: { email: "a@x" }, personalTeamId: "p1", isTokenRevoked: false };

describe("auth context", () => {
  test("an L2 hit is written through to L1; the second read makes no L2 call", async () => {
    const clock = { t: 1_000 };
    const store = countingStore(createMemoryStore({ now: () => clock.t }));
    const writer = track(createAuthCache({ store, logger: silentLogger, now: () => clock.t }));
    const reader = track(
      createAuthCache({
        store,
        logger: silentLogger,
        now: () => clock.t,
        maxStaleMs: 100_000,
        ttl: { user: 50_000, revocation: 20_000, team: 40_000 },
      }),
    );
    await writer.setAuthContext("a@x", "j1", ctx);
    const reads = () => store.calls.get("read") ?? 0;
    const r0 = reads();
    expect(await reader.getAuthContext("a@x", "j1")).toEqual(ctx);
    expect(reads()).toBe(r0 + 1);
    expect(reader.stats().l2Hits).toBe(1);
    expect(await reader.getAuthContext("a@x", "j1")).toEqual(ctx);
    expect(reads()).toBe(r0 + 1);
    expect(reader.stats().l1Hits).toBe(1);
    // The L1 copy lives min(user, revocation, team) = 20 s.
    clock.t += 19_999;
    await reader.getAuthContext("a@x", "j1");
    expect(reads()).toBe(r0 + 1);
    clock.t += 1;
    await reader.getAuthContext("a@x", "j1");
    expect(reads()).toBe(r0 + 2);
  });

  test("a known-revoked jti yields the revoked context without touching L2", async () => {
    const store = countingStore(createMemoryStore());
    const c = track(createAuthCache({ store, logger: silentLogger }));
    await c.setAuthContext("a@x", "j1", ctx);
    await c.invalidateRevocation("j1");
    const before = store.total();
    expect(await c.getAuthContext("a@x", "j1")).toEqual({
      user: null,
      personalTeamId: null,
      isTokenRevoked: true,
    });
    expect(c.getAuthContextSync("a@x", "j1")?.isTokenRevoked).toBe(true);
    expect(store.total()).toBe(before);
  });

  test("a missing jti is its own key, distinct from every real jti", async () => {
    const c = track(l1Only());
    await c.setAuthContext("a@x", undefined, ctx);
    expect(await c.getAuthContext("a@x")).toEqual(ctx);
    expect(await c.getAuthContext("a@x", null)).toEqual(ctx);
    expect(await c.getAuthContext("a@x", "")).toBeUndefined();
    expect(await c.getAuthContext("a@x", "no-jti")).toBeUndefined();
    await c.setAuthContext("a@x", "", { ...ctx, personalTeamId: "other" });
    expect((await c.getAuthContext("a@x"))?.personalTeamId).toBe("p1");
  });

  test("resolveAuthContext loads once for concurrent callers and never caches a revoked load", async () => {
    const c = track(l1Only());
    let loads = 0;
    const loader = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return ctx;
    };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => c.resolveAuthContext("a@x", "j1", loader)),
    );
    expect(results.every((r) => r?.personalTeamId === "p1")).toBe(true);
    expect(loads).toBe(1);
    const revoked = { user: null, personalTeamId: null, isTokenRevoked: true };
    expect(await c.resolveAuthContext("b@x", "j2", () => revoked)).toEqual(revoked);
    expect(await c.getAuthContext("b@x", "j2")).toBeUndefined();
  });
});

describe("roles", () => {
  test("null is 'not a member', distinct from a miss, through L1 and L2", async () => {
    const store = createMemoryStore();
    const a = track(createAuthCache({ store, logger: silentLogger }));
    const b = track(createAuthCache({ store, logger: silentLogger }));
    await a.setUserRole("a@x", "t1", null);
    expect(await a.getUserRole("a@x", "t1")).toBeNull(); // L1
    expect(await b.getUserRole("a@x", "t1")).toBeNull(); // L2
    expect(await b.getUserRole("a@x", "t2")).toBeUndefined();
  });

  test("any role string round-trips, including '' and '__NOT_A_MEMBER__'", async () => {
    const store = createMemoryStore();
    const a = track(createAuthCache({ store, logger: silentLogger }));
    for (const role of ["", "__NOT_A_MEMBER__", "null", "owner", "ünï"]) {
      await a.setUserRole("a@x", role, role);
      const b = track(createAuthCache({ store, logger: silentLogger }));
      expect(await a.getUserRole("a@x", role)).toBe(role);
      expect(await b.getUserRole("a@x", role)).toBe(role);
    }
  });

  test("resolveUserRole caches a null load as 'not a member'", async () => {
    const c = track(l1Only());
    let loads = 0;
    expect(
      await c.resolveUserRole("a@x", "t", () => {
        loads++;
        return null;
      }),
    ).toBeNull();
    expect(
      await c.resolveUserRole("a@x", "t", () => {
        loads++;
        return "admin";
      }),
    ).toBeNull();
    expect(loads).toBe(1);
  });
});

describe("team lists", () => {
  test("[] is a cached value distinct from a miss; includePersonal true and false are separate", async () => {
    const store = createMemoryStore();
    const a = track(createAuthCache({ store, logger: silentLogger }));
    const b = track(createAuthCache({ store, logger: silentLogger }));
    await a.setUserTeams("a@x", true, []);
    expect(await a.getUserTeams("a@x", true)).toEqual([]);
    expect(await b.getUserTeams("a@x", true)).toEqual([]);
    expect(await a.getUserTeams("a@x", false)).toBeUndefined();
    await a.setUserTeams("a@x", false, ["t2", "t1"]);
    expect(await b.getUserTeams("a@x", false)).toEqual(["t2", "t1"]);
    expect(await b.getUserTeams("a@x", true)).toEqual([]);
  });

  test("teamsListEnabled: false disables only the team-list kind", async () => {
    const c = track(l1Only({ teamsListEnabled: false }));
    await c.setUserTeams("a@x", true, ["t"]);
    expect(await c.getUserTeams("a@x", true)).toBeUndefined();
    let loads = 0;
    await c.resolveUserTeams("a@x", true, () => {
      loads++;
      return ["t"];
    });
    await c.resolveUserTeams("a@x", true, () => {
      loads++;
      return ["t"];
    });
    expect(loads).toBe(2);
    await c.setUserRole("a@x", "t", "admin");
    expect(await c.getUserRole("a@x", "t")).toBe("admin");
  });
});

describe("membership checks", () => {
  test("keyed by the sorted team ids: order never matters", async () => {
    const store = createMemoryStore();
    const a = track(createAuthCache({ store, logger: silentLogger }));
    const b = track(createAuthCache({ store, logger: silentLogger }));
    await a.setTeamMembershipValid("a@x", ["t2", "t1", "t3"], true);
    expect(await a.getTeamMembershipValid("a@x", ["t1", "t3", "t2"])).toBe(true);
    expect(await b.getTeamMembershipValid("a@x", ["t3", "t2", "t1"])).toBe(true);
    expect(await b.getTeamMembershipValid("a@x", ["t1", "t2"])).toBeUndefined();
    await a.setTeamMembershipValid("a@x", ["t9"], false);
    expect(await b.getTeamMembershipValid("a@x", ["t9"])).toBe(false);
  });

  test("the Sync pair is L1 only", async () => {
    const store = countingStore(createMemoryStore());
    const a = track(createAuthCache({ store, logger: silentLogger }));
    const b = track(createAuthCache({ store, logger: silentLogger }));
    a.setTeamMembershipValidSync("a@x", ["t2", "t1"], true);
    expect(a.getTeamMembershipValidSync("a@x", ["t1", "t2"])).toBe(true);
    expect(store.total()).toBe(0);
    expect(await b.getTeamMembershipValid("a@x", ["t1", "t2"])).toBeUndefined();
    // And the async set is visible to the sync get (same L1).
    await b.setTeamMembershipValid("b@x", ["t"], false);
    expect(b.getTeamMembershipValidSync("b@x", ["t"])).toBe(false);
  });

  test("an empty team list is never cached", async () => {
    const store = countingStore(createMemoryStore());
    const c = track(createAuthCache({ store, logger: silentLogger }));
    await c.setTeamMembershipValid("a@x", [], true);
    c.setTeamMembershipValidSync("a@x", [], true);
    expect(await c.getTeamMembershipValid("a@x", [])).toBeUndefined();
    expect(c.getTeamMembershipValidSync("a@x", [])).toBeUndefined();
    let loads = 0;
    await c.resolveTeamMembershipValid("a@x", [], () => {
      loads++;
      return true;
    });
    await c.resolveTeamMembershipValid("a@x", [], () => {
      loads++;
      return true;
    });
    expect(loads).toBe(2);
    expect(store.total()).toBe(0);
  });
});

describe("revocation", () => {
  test("invalidateRevocation makes the jti revoked and its contexts revoked on every instance", async () => {
    const f = await fleet(3);
    const [a, b, c] = f.caches as [AuthCache, AuthCache, AuthCache];
    await b.setAuthContext("u@x", "j1", ctx);
    await c.setAuthContext("u@x", "j1", ctx);
    await c.setNotRevoked("j1");
    expect(await c.isTokenRevoked("j1")).toBe(false);
    await a.invalidateRevocation("j1");
    await new Promise((r) => setTimeout(r, 0));
    for (const x of [a, b, c]) {
      expect(await x.isTokenRevoked("j1")).toBe(true);
      expect((await x.getAuthContext("u@x", "j1"))?.isTokenRevoked).toBe(true);
    }
    // A fresh instance learns it from L2.
    const d = createAuthCache({ store: f.store, logger: silentLogger });
    expect(await d.isTokenRevoked("j1")).toBe(true);
    expect((await d.getAuthContext("u@x", "j1"))?.isTokenRevoked).toBe(true);
    await d.close();
    await f.close();
  });

  test("setNotRevoked never outvotes a revocation, locally or in L2", async () => {
    const store = createMemoryStore();
    const a = track(createAuthCache({ store, logger: silentLogger }));
    const b = track(createAuthCache({ store, logger: silentLogger }));
    await a.invalidateRevocation("j1");
    await a.setNotRevoked("j1");
    expect(await a.isTokenRevoked("j1")).toBe(true);
    // b never heard of it (no bus): its setNotRevoked checks L2 first.
    await b.setNotRevoked("j1");
    expect(await b.isTokenRevoked("j1")).toBe(true);
    const c = track(createAuthCache({ store, logger: silentLogger }));
    expect(await c.isTokenRevoked("j1")).toBe(true);
  });

  test("a revocation outlives invalidateAll", async () => {
    const store = createMemoryStore();
    const a = track(createAuthCache({ store, logger: silentLogger }));
    await a.invalidateRevocation("j1");
    await a.setUser("u@x", { n: 1 });
    await a.invalidateAll();
    expect(await a.getUser("u@x")).toBeUndefined();
    expect(await a.isTokenRevoked("j1")).toBe(true);
    const b = track(createAuthCache({ store, logger: silentLogger }));
    expect(await b.getUser("u@x")).toBeUndefined();
    expect(await b.isTokenRevoked("j1")).toBe(true);
  });

  test("revocations expire after the token's own expiry, so memory stays bounded", async () => {
    const clock = { t: 1_000_000 };
    const store = createMemoryStore({ now: () => clock.t });
    const a = track(createAuthCache({ store, logger: silentLogger, now: () => clock.t }));
    for (let i = 0; i < 100; i++) await a.invalidateRevocation(`j${i}`, clock.t + 1_000);
    await a.invalidateRevocation("long", clock.t + 100_000);
    expect(a.stats().revokedCount).toBe(101);
    expect(await store.countMembers("authcache:revoked")).toBe(101);
    clock.t += 1_000;
    expect(await a.isTokenRevoked("j5")).toBeUndefined();
    expect(await a.isTokenRevoked("long")).toBe(true);
    expect(a.stats().revokedCount).toBe(1);
    expect(await store.countMembers("authcache:revoked")).toBe(1);
    // Without a known expiry, the retention applies.
    const b = track(l1Only({ now: () => clock.t, revocationRetentionMs: 5_000 }));
    await b.invalidateRevocation("r");
    clock.t += 4_999;
    expect(await b.isTokenRevoked("r")).toBe(true);
    clock.t += 1;
    expect(await b.isTokenRevoked("r")).toBeUndefined();
  });

  test("isTokenRevoked is undefined when neither L1 nor L2 can answer, never false", async () => {
    const c = track(l1Only());
    expect(await c.isTokenRevoked("j")).toBeUndefined();
    await c.setNotRevoked("j");
    expect(await c.isTokenRevoked("j")).toBe(false);
  });

  test("syncRevokedTokens accepts jtis and { jti, expiresAt } from any source, and returns the count", async () => {
    const clock = { t: 1_000_000 };
    const store = createMemoryStore({ now: () => clock.t });
    const a = track(createAuthCache({ store, logger: silentLogger, now: () => clock.t }));
    expect(await a.syncRevokedTokens(["j1", { jti: "j2", expiresAt: clock.t + 10 }])).toBe(2);
    async function* rows() {
      yield { jti: "j3", expiresAt: null };
      yield "j4";
    }
    expect(await a.syncRevokedTokens(rows())).toBe(2);
    expect(await a.syncRevokedTokens(async () => [{ jti: "j5" }])).toBe(1);
    for (const j of ["j1", "j2", "j3", "j4", "j5"]) expect(await a.isTokenRevoked(j)).toBe(true);
    const b = track(createAuthCache({ store, logger: silentLogger, now: () => clock.t }));
    expect(await b.isTokenRevoked("j4")).toBe(true);
  });

  test("syncRevokedTokens keeps going when L2 fails, then rejects naming itself", async () => {
    const failing = countingStore(createMemoryStore());
    failing.addMember = () => Promise.reject(new Error("L2 down"));
    const a = track(
      createAuthCache({ store: failing, logger: silentLogger, l2: { breaker: { failures: 3 } } }),
    );
    const jtis = Array.from({ length: 50 }, (_, i) => `j${i}`);
    // Every revocation is applied here; the L2 failure is reported (an instance that cannot
    // hear the log would read L2 without them), so the caller retries.
    const error = await a.syncRevokedTokens(jtis).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidationError);
    expect((error as InvalidationError).operation).toBe("syncRevokedTokens");
    for (const j of jtis) expect(await a.isTokenRevoked(j)).toBe(true);
    expect(a.stats().l2Errors).toBeGreaterThan(0);
  });
});
