/**
 * The team-objects kind (a user's teams as records, not just ids) end to end, on every backend
 * (memory, Redis, Valkey, libSQL): written by one instance, read from L2 by another, dropped
 * everywhere with the user's team lists, loaded once by concurrent resolvers, and refused in
 * the wrong shape. "B has applied A's invalidation" is observed (busMessages grows), never
 * timed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AuthCache } from "@authcache/core";
import { sleep } from "../support/fleet.ts";
import { BACKENDS, type BackendFleet, openFleet, type Servers, startServers } from "./backends.ts";

let servers: Servers;
const open: BackendFleet[] = [];

beforeAll(async () => {
  servers = await startServers();
});

afterAll(async () => {
  for (const f of open) await f.close();
  await servers?.stop();
});

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function pair(kind: (typeof BACKENDS)[number]): Promise<[AuthCache, AuthCache]> {
  const fleet = openFleet(kind, servers);
  open.push(fleet);
  const a = fleet.instance();
  const b = fleet.instance();
  await until("both instances to trust their L1", () => a.stats().l1Trusted && b.stats().l1Trusted);
  return [a, b];
}

/** Runs `invalidate` (on A) and returns once B has applied what it published. */
async function invalidatedThrough(b: AuthCache, invalidate: () => Promise<void>): Promise<void> {
  const before = b.stats().busMessages;
  await invalidate();
  await until("B to apply the invalidation", () => b.stats().busMessages > before);
}

const PERSONAL: Record<string, unknown> = { id: "t-personal", name: "Ada's team", personal: true };
const PLATFORM: Record<string, unknown> = { id: "t1", name: "Platform", members: 12 };
const TEAMS = [PERSONAL, PLATFORM];

for (const kind of BACKENDS) {
  describe(`team objects on ${kind}`, () => {
    test("written on A, read from L2 on B (frozen copies), then from B's L1; includePersonal true and false are separate", async () => {
      const [a, b] = await pair(kind);
      const email = `ada-${kind}@example.com`;
      const given = { ...PLATFORM };
      await a.setUserTeamObjects(email, true, [PERSONAL, given]);
      given.name = "changed after the set";
      await a.setUserTeamObjects(email, false, [PLATFORM]);
      const l2HitsBefore = b.stats().l2Hits;
      const read = await b.getUserTeamObjects(email, true);
      expect(read).toEqual(TEAMS);
      expect(b.stats().l2Hits).toBe(l2HitsBefore + 1);
      expect(Object.isFrozen(read)).toBe(true);
      expect(Object.isFrozen(read?.[1])).toBe(true);
      const l1HitsBefore = b.stats().l1Hits;
      expect(await b.getUserTeamObjects(email, true)).toEqual(TEAMS);
      expect(b.stats().l1Hits).toBe(l1HitsBefore + 1);
      expect(await b.getUserTeamObjects(email, false)).toEqual([PLATFORM]);
      // The ids list is another kind: untouched by the records.
      expect(await b.getUserTeams(email, true)).toBeUndefined();
      await a.setUserTeamObjects(email, true, []);
      expect(await a.getUserTeamObjects(email, true)).toEqual([]);
    });

    for (const [name, invalidate] of [
      ["invalidateUserTeams", (c: AuthCache, e: string) => c.invalidateUserTeams(e)],
      ["invalidateTeam", (c: AuthCache, e: string) => c.invalidateTeam(e)],
      ["invalidateUser", (c: AuthCache, e: string) => c.invalidateUser(e)],
      ["invalidateAll", (c: AuthCache) => c.invalidateAll()],
    ] as const) {
      test(`${name} on A drops them on A, in L2 and on B; another user's stay`, async () => {
        const [a, b] = await pair(kind);
        const email = `grace-${kind}-${name}@example.com`;
        const other = `other-${kind}-${name}@example.com`;
        for (const e of [email, other]) {
          await a.setUserTeamObjects(e, true, TEAMS);
          await a.setUserTeamObjects(e, false, TEAMS);
          expect(await b.getUserTeamObjects(e, true)).toEqual(TEAMS);
        }
        await invalidatedThrough(b, () => invalidate(a, email));
        for (const c of [a, b]) {
          expect(await c.getUserTeamObjects(email, true)).toBeUndefined();
          expect(await c.getUserTeamObjects(email, false)).toBeUndefined();
        }
        if (name !== "invalidateAll")
          expect(await b.getUserTeamObjects(other, true)).toEqual(TEAMS);
      });
    }

    test("invalidations of other kinds leave them cached", async () => {
      const [a, b] = await pair(kind);
      const email = `kept-${kind}@example.com`;
      await a.setUserTeamObjects(email, true, TEAMS);
      expect(await b.getUserTeamObjects(email, true)).toEqual(TEAMS);
      await invalidatedThrough(b, () => a.invalidateTeamMembership(email));
      await invalidatedThrough(b, () => a.invalidateUserRole(email, "t1"));
      await invalidatedThrough(b, () => a.invalidateTeamRoles("t1"));
      const before = b.stats().l1Hits;
      expect(await b.getUserTeamObjects(email, true)).toEqual(TEAMS);
      expect(b.stats().l1Hits).toBe(before + 1);
    });

    test("resolveUserTeamObjects: one loader call for concurrent callers, then cached on both instances", async () => {
      const [a, b] = await pair(kind);
      const email = `load-${kind}@example.com`;
      let calls = 0;
      const loader = async () => {
        calls++;
        await sleep(20);
        return TEAMS;
      };
      const results = await Promise.all(
        Array.from({ length: 5 }, () => a.resolveUserTeamObjects(email, true, loader)),
      );
      for (const r of results) expect(r).toEqual(TEAMS);
      expect(calls).toBe(1);
      expect(await b.resolveUserTeamObjects(email, true, loader)).toEqual(TEAMS);
      expect(calls).toBe(1);
      expect(
        await a.resolveUserTeamObjects(`none-${email}`, true, () => undefined),
      ).toBeUndefined();
    });

    test("the wrong shape is a TypeError naming the argument; nothing cached is lost", async () => {
      const [a] = await pair(kind);
      const email = `shape-${kind}@example.com`;
      await a.setUserTeamObjects(email, true, TEAMS);
      await expect(a.setUserTeamObjects(email, true, "t1" as never)).rejects.toThrow(
        /teams must be an array of plain objects/,
      );
      await expect(a.setUserTeamObjects(email, true, ["t1"] as never)).rejects.toThrow(
        /teams\[0\] must be a plain object/,
      );
      await expect(
        a.resolveUserTeamObjects(`${email}.x`, true, () => [1] as never),
      ).rejects.toThrow(/loader result\[0\] must be a plain object/);
      await expect(a.getUserTeamObjects(email, "yes" as never)).rejects.toThrow(/includePersonal/);
      expect(await a.getUserTeamObjects(email, true)).toEqual(TEAMS);
    });
  });
}

test("teamsListEnabled: false disables team records like team lists (memory)", async () => {
  const fleet = openFleet("memory", servers, { teamsListEnabled: false });
  open.push(fleet);
  const a = fleet.instance();
  await a.setUserTeamObjects("x@example.com", true, TEAMS);
  expect(await a.getUserTeamObjects("x@example.com", true)).toBeUndefined();
  let calls = 0;
  const load = () => {
    calls++;
    return TEAMS;
  };
  expect(await a.resolveUserTeamObjects("x@example.com", true, load)).toEqual(TEAMS);
  expect(await a.resolveUserTeamObjects("x@example.com", true, load)).toEqual(TEAMS);
  expect(calls).toBe(2);
});
