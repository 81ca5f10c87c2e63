import { describe, expect, test } from "bun:test";
import { createMemoryStore } from "@authcache/adapter-memory";
import { type AuthCache, createAuthCache, silentLogger } from "@authcache/core";
import { countingStore, fleet, nastyIds, settle } from "./support.ts";

type Entry = "user" | "ctx" | "role" | "roleOther" | "teams" | "teamsN" | "mem";
const ALL: Entry[] = ["user", "ctx", "role", "roleOther", "teams", "teamsN", "mem"];

async function fill(c: AuthCache, email: string, team: string): Promise<void> {
  await c.setUser(email, { email });
  await c.setAuthContext(email, `jti-${email}`, {
    user: { email },
    personalTeamId: team,
    isTokenRevoked: false,
  });
  await c.setUserRole(email, team, "member");
  await c.setUserRole(email, `${team}-other`, "owner");
  await c.setUserTeams(email, true, [team]);
  await c.setUserTeams(email, false, []);
  await c.setTeamMembershipValid(email, [team, "z"], true);
}

async function present(c: AuthCache, email: string, team: string): Promise<Set<Entry>> {
  const s = new Set<Entry>();
  if ((await c.getUser(email)) !== undefined) s.add("user");
  const ctx = await c.getAuthContext(email, `jti-${email}`);
  if (ctx !== undefined && !ctx.isTokenRevoked) s.add("ctx");
  if ((await c.getUserRole(email, team)) !== undefined) s.add("role");
  if ((await c.getUserRole(email, `${team}-other`)) !== undefined) s.add("roleOther");
  if ((await c.getUserTeams(email, true)) !== undefined) s.add("teams");
  if ((await c.getUserTeams(email, false)) !== undefined) s.add("teamsN");
  if ((await c.getTeamMembershipValid(email, ["z", team])) !== undefined) s.add("mem");
  return s;
}

const ops: {
  name: string;
  run: (c: AuthCache, email: string, team: string) => Promise<void>;
  clears: Entry[];
  /** Whether the neighbour sharing the team loses its role too. */
  teamWide?: boolean;
}[] = [
  { name: "invalidateUser", run: (c, e) => c.invalidateUser(e), clears: ALL },
  {
    name: "invalidateTeam",
    run: (c, e) => c.invalidateTeam(e),
    clears: ["ctx", "role", "roleOther", "teams", "teamsN", "mem"],
  },
  { name: "invalidateUserRole", run: (c, e, t) => c.invalidateUserRole(e, t), clears: ["role"] },
  {
    name: "invalidateTeamRoles",
    run: (c, _e, t) => c.invalidateTeamRoles(t),
    clears: ["role"],
    teamWide: true,
  },
  {
    name: "invalidateUserTeams",
    run: (c, e) => c.invalidateUserTeams(e),
    clears: ["teams", "teamsN"],
  },
  {
    name: "invalidateTeamMembership",
    run: (c, e) => c.invalidateTeamMembership(e),
    clears: ["mem"],
  },
  {
    name: "invalidateRevocation",
    run: (c, e) => c.invalidateRevocation(`jti-${e}`),
    clears: ["ctx"],
  },
];

/** Pairs whose naive keys would collide, prefix-match or glob-match each other. */
const pairs: [string, string][] = [
  ["a*@x.com", "ab@x.com"],
  ["?@x", "a@x"],
  ["[a]@x", "a@x"],
  ["a:b@x", "a"],
  ["{t}@x", "t@x"],
  ["ünï©ødé@x", "unicode@x"],
  ["x".repeat(10_000), "x".repeat(9_999)],
  ["", "a@x"],
  ["a\\b@x", "ab@x"],
];

describe("invalidation clears exactly its entries, everywhere", () => {
  for (const op of ops) {
    test(`${op.name}, for every awkward identifier`, async () => {
      for (const [target, neighbour] of pairs) {
        const f = await fleet(3);
        const [a, b, c] = f.caches as [AuthCache, AuthCache, AuthCache];
        // Same awkward string as team id too: team keys must be as safe as e-mail keys.
        const team = target;
        const otherTeam = neighbour;
        await fill(a, target, team);
        await fill(a, neighbour, otherTeam);
        for (const x of [b, c]) {
          expect(await present(x, target, team)).toEqual(new Set(ALL));
          expect(await present(x, neighbour, otherTeam)).toEqual(new Set(ALL));
        }
        await op.run(a, target, team);
        await settle();
        const expected = new Set(ALL.filter((e) => !op.clears.includes(e)));
        const fresh = createAuthCache({ store: f.store, logger: silentLogger });
        for (const x of [a, b, c, fresh]) {
          expect(await present(x, target, team)).toEqual(expected);
          expect(await present(x, neighbour, otherTeam)).toEqual(new Set(ALL));
        }
        await fresh.close();
        await f.close();
      }
    });
  }

  test("invalidateTeamRoles drops every member's role in that team only", async () => {
    const f = await fleet(2);
    const [a, b] = f.caches as [AuthCache, AuthCache];
    for (const u of nastyIds.slice(0, 5)) {
      await a.setUserRole(u, "team*", "member");
      await a.setUserRole(u, "team", "member");
      await b.getUserRole(u, "team*");
    }
    await a.invalidateTeamRoles("team*");
    await settle();
    for (const u of nastyIds.slice(0, 5)) {
      expect(await b.getUserRole(u, "team*")).toBeUndefined();
      expect(await b.getUserRole(u, "team")).toBe("member");
    }
    await f.close();
  });

  test("invalidateAll clears every kind on every instance and keeps revocations", async () => {
    const f = await fleet(3);
    const [a, b, c] = f.caches as [AuthCache, AuthCache, AuthCache];
    await fill(a, "u@x", "t");
    await b.getUser("u@x");
    await a.invalidateRevocation("j-keep");
    await c.invalidateAll();
    await settle();
    for (const x of [a, b, c]) {
      expect(await present(x, "u@x", "t")).toEqual(new Set());
      expect(await x.isTokenRevoked("j-keep")).toBe(true);
    }
    await f.close();
  });

  test("an invalidation resolves only after L2 and the bus have it", async () => {
    const f = await fleet(2);
    const [a] = f.caches as [AuthCache];
    await fill(a, "u@x", "t");
    const end = f.bus.end;
    await a.invalidateUser("u@x");
    expect(f.bus.end).toBe(end + 1);
    const fresh = createAuthCache({ store: f.store, logger: silentLogger });
    expect(await present(fresh, "u@x", "t")).toEqual(new Set());
    await fresh.close();
    await f.close();
  });

  test("its cost does not grow with the number of unrelated keys in L2", async () => {
    const costOf = async (unrelated: number): Promise<number> => {
      const store = countingStore(createMemoryStore());
      const c = createAuthCache({ store, logger: silentLogger });
      for (let i = 0; i < unrelated; i++) {
        await c.setUser(`other${i}@x`, { i });
        await c.setUserRole(`other${i}@x`, "t", "member");
      }
      await fill(c, "u@x", "t");
      const before = store.total();
      await c.invalidateUser("u@x");
      await c.invalidateTeamRoles("t-other");
      await c.invalidateTeamMembership("u@x");
      const cost = store.total() - before;
      await c.close();
      return cost;
    };
    expect(await costOf(5_000)).toBe(await costOf(10));
  });
});
