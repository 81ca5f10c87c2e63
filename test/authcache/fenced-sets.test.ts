/**
 * The get-miss-then-set pattern and singleflight against an invalidation made through another
 * instance, on every backend (memory, Redis, Valkey, libSQL) (issue 13, defects 1-4):
 * - two misses of one entry, an invalidation, two sets of what was loaded before: neither is
 *   cached, on either instance, past maxStaleMs;
 * - a miss pushed out of the bounded miss records by 1 100 other misses still refuses the set
 *   (counted in untrackedSetsRejected);
 * - the L1-only sync pair follows the same rule;
 * - a resolve that starts after the invalidation was applied never joins a load started before.
 *
 * "A has applied B's invalidation" is observed (A's busMessages grows), never timed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AuthCache } from "@authcache/core";
import { sleep } from "../support/fleet.ts";
import { BACKENDS, type BackendFleet, openFleet, type Servers, startServers } from "./backends.ts";

const MAX_STALE_MS = 300;

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

/** Runs `invalidate` (on B) and returns once A has applied what it published. */
async function invalidatedThrough(a: AuthCache, invalidate: () => Promise<void>): Promise<void> {
  const before = a.stats().busMessages;
  await invalidate();
  await until("A to apply the invalidation", () => a.stats().busMessages > before);
}

async function pair(kind: (typeof BACKENDS)[number]): Promise<[AuthCache, AuthCache]> {
  const fleet = openFleet(kind, servers, { maxStaleMs: MAX_STALE_MS });
  open.push(fleet);
  const a = fleet.instance();
  const b = fleet.instance();
  await until("both instances to trust their L1", () => a.stats().l1Trusted && b.stats().l1Trusted);
  return [a, b];
}

/** Past the bound, with both instances trusting their L1 again (so an L1 entry would show). */
async function pastTheBound(a: AuthCache, b: AuthCache): Promise<void> {
  await sleep(MAX_STALE_MS + 100);
  await until("both instances to trust their L1", () => a.stats().l1Trusted && b.stats().l1Trusted);
}

for (const kind of BACKENDS) {
  describe(`fenced sets on ${kind}`, () => {
    test("two misses of one role, an invalidation through B, two sets of the old role: neither is served", async () => {
      const [a, b] = await pair(kind);
      const email = `two-misses-${kind}@x`;
      expect(await Promise.all([a.getUserRole(email, "t"), a.getUserRole(email, "t")])).toEqual([
        undefined,
        undefined,
      ]);
      await invalidatedThrough(a, () => b.invalidateUserRole(email, "t"));
      await a.setUserRole(email, "t", "admin");
      await a.setUserRole(email, "t", "admin");
      await pastTheBound(a, b);
      expect(await a.getUserRole(email, "t")).toBeUndefined();
      expect(await b.getUserRole(email, "t")).toBeUndefined();
      expect(a.stats().staleFillsRejected).toBe(2);
    }, 30_000);

    test("a miss pushed out by 1 100 other misses: the set after an invalidation is refused and counted", async () => {
      const [a, b] = await pair(kind);
      const email = `busy-${kind}@x`;
      expect(await a.getUserRole(email, "t")).toBeUndefined();
      for (let i = 0; i < 1_100; i += 50) {
        const batch: Promise<unknown>[] = [];
        for (let j = i; j < i + 50; j++) batch.push(a.getUserRole(`other${j}-${kind}@x`, "t"));
        await Promise.all(batch);
      }
      await invalidatedThrough(a, () => b.invalidateUserRole(email, "t"));
      await a.setUserRole(email, "t", "admin");
      await pastTheBound(a, b);
      expect(await a.getUserRole(email, "t")).toBeUndefined();
      expect(await b.getUserRole(email, "t")).toBeUndefined();
      expect(a.stats().untrackedSetsRejected).toBe(1);
    }, 60_000);

    test("the sync pair: a miss, an invalidation through B, a set: not served", async () => {
      const [a, b] = await pair(kind);
      const email = `sync-${kind}@x`;
      expect(a.getTeamMembershipValidSync(email, ["t"])).toBeUndefined();
      await invalidatedThrough(a, () => b.invalidateTeamMembership(email));
      a.setTeamMembershipValidSync(email, ["t"], true);
      await pastTheBound(a, b);
      expect(a.getTeamMembershipValidSync(email, ["t"])).toBeUndefined();
      expect(a.stats().staleFillsRejected).toBe(1);
    }, 30_000);

    test("a resolveUser that starts after B's invalidation was applied runs its own load", async () => {
      const [a, b] = await pair(kind);
      const email = `flight-${kind}@x`;
      let release: (user: { v: string }) => void = () => {};
      let started = false;
      const early = a.resolveUser(email, () => {
        started = true;
        return new Promise<{ v: string }>((r) => {
          release = r;
        });
      });
      await until("the early load to start", () => started);
      await invalidatedThrough(a, () => b.invalidateUser(email));
      await pastTheBound(a, b);
      const late = a.resolveUser(email, async () => ({ v: "new" }));
      release({ v: "old" });
      expect(await early).toEqual({ v: "old" });
      expect(await late).toEqual({ v: "new" });
      expect(await a.getUser(email)).toEqual({ v: "new" });
      expect(await b.getUser(email)).toEqual({ v: "new" });
    }, 30_000);
  });
}
