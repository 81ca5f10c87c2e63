import { describe, expect, test } from "bun:test";
import { createKeyCodec, encodeMessage } from "../src/adapter.ts";
import {
  type AuthCache,
  type AuthCacheOptions,
  createAuthCache,
  silentLogger,
} from "../src/index.ts";
import { percentEncode } from "../src/key-codec.ts";
import { ManualBus, MapStore } from "./support/map-store.ts";

const EMAIL = "alice.secret@example.com";
const JTI = "jti-secret-0001";
const TEAM = "team-secret-42";
const ctx = (email: string) => ({ user: { email }, personalTeamId: null, isTokenRevoked: false });
const REVOKED = { user: null, personalTeamId: null, isTokenRevoked: true };

function fleet(withStore = true) {
  const clock = { t: 1_000_000 };
  const store = withStore ? new MapStore(() => clock.t) : undefined;
  const bus = new ManualBus();
  const warnings: string[] = [];
  const make = (options: AuthCacheOptions = {}) =>
    createAuthCache({
      store,
      bus,
      logger: { ...silentLogger, warn: (m: string) => void warnings.push(m) },
      now: () => clock.t,
      maxStaleMs: 1_000,
      ...options,
    });
  return { clock, bus, make, warnings };
}

const hashed = { hashIdentifiers: { key: "fleet-secret" } };

/** Fills every kind for (EMAIL, TEAM, JTI) in `c`'s L1 (L1 trusted: the bus confirmed). */
async function fillAll(c: AuthCache): Promise<void> {
  await c.setUser(EMAIL, { email: EMAIL });
  await c.setAuthContext(EMAIL, JTI, ctx(EMAIL));
  await c.setAuthContext(EMAIL, null, ctx(EMAIL));
  await c.setUserRole(EMAIL, TEAM, "admin");
  await c.setUserTeams(EMAIL, true, [TEAM]);
  await c.setUserTeams(EMAIL, false, [TEAM]);
  c.setTeamMembershipValidSync(EMAIL, [TEAM], true);
  await c.setNotRevoked("other-jti");
}

/** Which kinds `c` answers from L1 alone (sync getters, or an async get without a store). */
async function inL1(c: AuthCache): Promise<string[]> {
  const got: string[] = [];
  if (c.getAuthContextSync(EMAIL, JTI) !== undefined) got.push("ctx");
  if (c.getAuthContextSync(EMAIL, null) !== undefined) got.push("ctx-");
  if (c.getTeamMembershipValidSync(EMAIL, [TEAM]) !== undefined) got.push("mem");
  if ((await c.getUser(EMAIL)) !== undefined) got.push("user");
  if ((await c.getUserRole(EMAIL, TEAM)) !== undefined) got.push("role");
  if ((await c.getUserTeams(EMAIL, true)) !== undefined) got.push("teams");
  return got;
}

describe("hashIdentifiers hides identifiers in log entries too (issue 13, defect 10)", () => {
  test("no entry of any kind names an identifier; each names the key by fingerprint only", async () => {
    const { clock, bus, make } = fleet();
    const a = make(hashed);
    bus.confirm(clock.t);
    await a.invalidateUser(EMAIL);
    await a.invalidateTeam(EMAIL);
    await a.invalidateUserTeams(EMAIL);
    await a.invalidateTeamMembership(EMAIL);
    await a.invalidateUserRole(EMAIL, TEAM);
    await a.invalidateTeamRoles(TEAM);
    await a.invalidateRevocation(JTI, clock.t + 60_000);
    await a.syncRevokedTokens([JTI, { jti: `${JTI}b`, expiresAt: clock.t + 1 }]);
    await a.invalidateAll();
    expect(bus.log.map((m) => m.type)).toEqual([
      "user",
      "team",
      "teams",
      "membership",
      "role",
      "teamRoles",
      "revoke",
      "revokeMany",
      "all",
    ]);
    const codec = createKeyCodec({ prefix: "x:", hashIdentifiers: hashed.hashIdentifiers });
    for (const m of bus.log) {
      const raw = encodeMessage(m);
      for (const id of [EMAIL, JTI, TEAM, "alice", "secret"]) {
        expect(raw).not.toContain(id);
        expect(raw).not.toContain(percentEncode(id));
      }
      if (m.type !== "all") expect(m.hashed).toBe(codec.keyId as string);
    }
    // What the log shows is what the L2 keys show: the identifiers' HMACs.
    expect(bus.log[0]).toEqual({ type: "user", email: codec.id(EMAIL), hashed: codec.keyId });
    expect(bus.log[4]).toEqual({
      type: "role",
      email: codec.id(EMAIL),
      teamId: codec.id(TEAM),
      hashed: codec.keyId,
    });
    expect(codec.keyId).not.toBe(createKeyCodec({ prefix: "x:" }).keyId);
  });

  for (const [name, invalidate, dropped] of [
    ["invalidateUser", (a: AuthCache) => a.invalidateUser(EMAIL), "all"],
    ["invalidateTeam", (a: AuthCache) => a.invalidateTeam(EMAIL), "all but user"],
    ["invalidateUserTeams", (a: AuthCache) => a.invalidateUserTeams(EMAIL), "teams"],
    ["invalidateTeamMembership", (a: AuthCache) => a.invalidateTeamMembership(EMAIL), "mem"],
    ["invalidateUserRole", (a: AuthCache) => a.invalidateUserRole(EMAIL, TEAM), "role"],
    ["invalidateTeamRoles", (a: AuthCache) => a.invalidateTeamRoles(TEAM), "role"],
    ["invalidateRevocation", (a: AuthCache) => a.invalidateRevocation(JTI), "ctx"],
    ["syncRevokedTokens", (a: AuthCache) => a.syncRevokedTokens([JTI]), "ctx"],
  ] as const) {
    test(`a follower with the same key applies ${name} exactly (no store: the log is all it has)`, async () => {
      const { clock, bus, make } = fleet(false);
      const a = make(hashed);
      const b = make(hashed);
      bus.confirm(clock.t);
      await fillAll(b);
      const all = ["ctx", "ctx-", "mem", "user", "role", "teams"];
      expect(await inL1(b)).toEqual(all);
      await invalidate(a);
      const gone: Record<string, string[]> = {
        all,
        "all but user": ["ctx", "ctx-", "mem", "role", "teams"],
        teams: ["teams"],
        mem: ["mem"],
        role: ["role"],
        ctx: ["ctx"],
      };
      expect(await inL1(b)).toEqual(all.filter((k) => !gone[dropped]?.includes(k)));
      expect(b.stats().busUnreadable).toBe(0);
      // An untouched neighbour survives every one of them.
      expect(await b.isTokenRevoked("other-jti")).toBe(false);
    });
  }

  test("a revocation heard by hashed jti: unknown to the sync getter until the jti is seen again, then revoked; nothing is cached for it", async () => {
    const { clock, bus, make } = fleet(false);
    const a = make(hashed);
    const b = make(hashed);
    bus.confirm(clock.t);
    await b.setAuthContext(EMAIL, JTI, ctx(EMAIL));
    await a.invalidateRevocation(JTI, clock.t + 60_000);
    expect(b.getAuthContextSync(EMAIL, JTI)).toBeUndefined();
    expect(await b.getAuthContext(EMAIL, JTI)).toEqual(REVOKED);
    expect(b.getAuthContextSync(EMAIL, JTI)).toEqual(REVOKED);
    // A set (the first sight of the jti here, on another instance) is refused, and learns it.
    const c = make(hashed);
    await a.invalidateRevocation(`${JTI}2`, clock.t + 60_000);
    await c.setAuthContext(EMAIL, `${JTI}2`, ctx(EMAIL));
    await c.setNotRevoked(`${JTI}2`);
    expect(c.getAuthContextSync(EMAIL, `${JTI}2`)).toEqual(REVOKED);
    expect(await c.isTokenRevoked(`${JTI}2`)).toBe(true);
    expect(await b.isTokenRevoked(JTI)).toBe(true);
    let loads = 0;
    expect(
      await b.resolveAuthContext(EMAIL, JTI, () => {
        loads++;
        return ctx(EMAIL);
      }),
    ).toEqual(REVOKED);
    expect(loads).toBe(0);
    // It lasts as long as the deadline the log carried.
    clock.t += 60_001;
    bus.confirm(clock.t);
    expect(await b.isTokenRevoked(JTI)).toBeUndefined();
  });

  test("plain entries (a sender without the option) are applied exactly by a cache with it", async () => {
    const { clock, bus, make } = fleet(false);
    const plain = make();
    const b = make(hashed);
    bus.confirm(clock.t);
    await fillAll(b);
    await plain.invalidateUserRole(EMAIL, TEAM);
    await plain.invalidateRevocation(JTI);
    // The context of the revoked jti now reads as revoked (the revoked set, not L1).
    expect(await inL1(b)).toEqual(["ctx", "ctx-", "mem", "user", "teams"]);
    expect(b.getAuthContextSync(EMAIL, JTI)).toEqual(REVOKED);
    expect(b.stats().busUnreadable).toBe(0);
  });

  test("an entry hashed with another key, or hashed for a cache without the option, flushes its L1 (counted, logged)", async () => {
    const { clock, bus, make, warnings } = fleet(false);
    const a = make(hashed);
    const plain = make();
    const other = make({ hashIdentifiers: { key: "another-secret" } });
    bus.confirm(clock.t);
    await fillAll(plain);
    await fillAll(other);
    await plain.setUser("bystander@x", { n: 1 });
    await a.invalidateUserRole(EMAIL, TEAM);
    for (const c of [plain, other]) {
      expect(await inL1(c)).toEqual([]);
      expect(c.stats().busUnreadable).toBe(1);
    }
    expect(await plain.getUser("bystander@x")).toBeUndefined();
    expect(warnings.some((w) => w.includes("hashIdentifiers"))).toBe(true);
    expect(a.stats().busUnreadable).toBe(0);
  });
});
