import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type AuthCache, createAuthCache, silentLogger } from "../src/index.ts";
import { ManualBus, MapStore } from "./support/map-store.ts";

type Kind = "user" | "role" | "teams" | "mem" | "ctx";
const TEAM = "t:1";
const JTI = "j*1";

const invalidationsFor: Record<Kind, string[]> = {
  user: ["invalidateUser", "invalidateAll"],
  role: [
    "invalidateUser",
    "invalidateTeam",
    "invalidateUserRole",
    "invalidateTeamRoles",
    "invalidateAll",
  ],
  teams: ["invalidateUser", "invalidateTeam", "invalidateUserTeams", "invalidateAll"],
  mem: ["invalidateUser", "invalidateTeam", "invalidateTeamMembership", "invalidateAll"],
  ctx: ["invalidateUser", "invalidateTeam", "invalidateAll", "invalidateRevocation"],
};

const staleValue: Record<Kind, unknown> = {
  user: { v: "stale" },
  role: "stale",
  teams: ["stale"],
  mem: true,
  ctx: { user: { v: "stale" }, personalTeamId: "p", isTokenRevoked: false },
};

function read(c: AuthCache, kind: Kind, email: string): Promise<unknown> {
  switch (kind) {
    case "user":
      return c.getUser(email);
    case "role":
      return c.getUserRole(email, TEAM);
    case "teams":
      return c.getUserTeams(email, true);
    case "mem":
      return c.getTeamMembershipValid(email, [TEAM]);
    default:
      return c.getAuthContext(email, JTI);
  }
}

function write(c: AuthCache, kind: Kind, email: string, v: unknown): Promise<unknown> {
  switch (kind) {
    case "user":
      return c.setUser(email, v as Record<string, unknown>);
    case "role":
      return c.setUserRole(email, TEAM, v as string);
    case "teams":
      return c.setUserTeams(email, true, v as string[]);
    case "mem":
      return c.setTeamMembershipValid(email, [TEAM], v as boolean);
    default:
      // biome-ignore lint/suspicious/noExplicitAny: the context type is generic
      return c.setAuthContext(email, JTI, v as any);
  }
}

function resolveWith(
  c: AuthCache,
  kind: Kind,
  email: string,
  loader: () => Promise<unknown>,
): Promise<unknown> {
  // biome-ignore lint/suspicious/noExplicitAny: one loader for every kind
  const l = loader as any;
  switch (kind) {
    case "user":
      return c.resolveUser(email, l);
    case "role":
      return c.resolveUserRole(email, TEAM, l);
    case "teams":
      return c.resolveUserTeams(email, true, l);
    case "mem":
      return c.resolveTeamMembershipValid(email, [TEAM], l);
    default:
      return c.resolveAuthContext(email, JTI, l);
  }
}

function invalidate(c: AuthCache, op: string, email: string): Promise<void> {
  switch (op) {
    case "invalidateUser":
      return c.invalidateUser(email);
    case "invalidateTeam":
      return c.invalidateTeam(email);
    case "invalidateUserRole":
      return c.invalidateUserRole(email, TEAM);
    case "invalidateTeamRoles":
      return c.invalidateTeamRoles(TEAM);
    case "invalidateUserTeams":
      return c.invalidateUserTeams(email);
    case "invalidateTeamMembership":
      return c.invalidateTeamMembership(email);
    case "invalidateRevocation":
      return c.invalidateRevocation(JTI);
    default:
      return c.invalidateAll();
  }
}

const scenario = fc
  .record({
    kind: fc.constantFrom<Kind>("user", "role", "teams", "mem", "ctx"),
    mode: fc.constantFrom("bus", "store", "l1"),
    invalidator: fc.constantFrom("A", "B"),
    path: fc.constantFrom("resolve", "get-set"),
    email: fc.constantFrom("a@x", "*@x", "a:b@x", "{t}@x", "é@x", ""),
    pick: fc.nat(),
  })
  .map((s) => {
    const ops = invalidationsFor[s.kind];
    return { ...s, op: ops[s.pick % ops.length] ?? "invalidateAll" };
  });

describe("fenced fills", () => {
  test("property: a fill whose load overlapped an invalidation is never visible afterwards", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ kind, mode, invalidator, path, email, op }) => {
        const clock = { t: 1_000_000 };
        const store = mode === "l1" ? undefined : new MapStore(() => clock.t);
        const bus = mode === "bus" ? new ManualBus() : undefined;
        const opts = { store, bus, logger: silentLogger, now: () => clock.t };
        const a = createAuthCache(opts);
        const b = createAuthCache(opts);
        bus?.confirm(clock.t);
        // Without a shared store there is no "other instance": A invalidates itself.
        const inv = mode === "l1" || invalidator === "A" ? a : b;
        const stale = staleValue[kind];
        if (path === "resolve") {
          let release: (v: unknown) => void = () => {};
          let started: () => void = () => {};
          const loaderStarted = new Promise<void>((r) => {
            started = r;
          });
          const pending = resolveWith(a, kind, email, () => {
            started();
            return new Promise((r) => {
              release = r;
            });
          });
          await loaderStarted;
          await invalidate(inv, op, email);
          release(stale);
          // The caller still gets what it loaded.
          expect(await pending).toEqual(stale);
        } else {
          expect(await read(a, kind, email)).toBeUndefined();
          await invalidate(inv, op, email);
          await write(a, kind, email, stale);
        }
        const revokedCtx = { user: null, personalTeamId: null, isTokenRevoked: true };
        const expected = op === "invalidateRevocation" ? revokedCtx : undefined;
        // A (the filler) is checked unless it could not hear B (store without bus: bounded by
        // maxStaleMs instead, covered by the staleness tests).
        if (!(mode === "store" && inv === b)) expect(await read(a, kind, email)).toEqual(expected);
        if (store !== undefined) {
          expect(await read(b, kind, email)).toEqual(expected);
          const fresh = createAuthCache(opts);
          expect(await read(fresh, kind, email)).toEqual(expected);
          await fresh.close();
        }
        // Generation bumps (all, team roles) and revocations move no user fence: a filler that
        // could not hear about them writes an entry that L2 reads treat as dead or revoked,
        // rather than having its fill rejected. A set for a jti known revoked is refused first.
        const fenceless = ["invalidateTeamRoles", "invalidateAll", "invalidateRevocation"];
        const deadOnArrival =
          (mode === "store" && inv === b && fenceless.includes(op)) ||
          (op === "invalidateRevocation" && path === "get-set");
        expect(a.stats().staleFillsRejected).toBeGreaterThanOrEqual(deadOnArrival ? 0 : 1);
        await a.close();
        await b.close();
      }),
      { numRuns: 300 },
    );
  });

  test("a fill that did not overlap an invalidation is cached and visible to others", async () => {
    const clock = { t: 0 };
    const store = new MapStore(() => clock.t);
    const bus = new ManualBus();
    const opts = { store, bus, logger: silentLogger, now: () => clock.t };
    const a = createAuthCache(opts);
    const b = createAuthCache(opts);
    bus.confirm(0);
    await a.invalidateUser("u@x");
    let calls = 0;
    const loaded = await a.resolveUser("u@x", async () => {
      calls++;
      return { v: 1 };
    });
    expect(loaded).toEqual({ v: 1 });
    expect(await a.resolveUser("u@x", async () => ({ v: 2 }))).toEqual({ v: 1 });
    expect(await b.getUser("u@x")).toEqual({ v: 1 });
    expect(calls).toBe(1);
    expect(a.stats().staleFillsRejected).toBe(0);
    await a.close();
    await b.close();
  });
});
