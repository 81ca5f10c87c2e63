import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { sleep } from "../wait.ts";
import type { Peer } from "./peers.ts";

/** What a fleet test receives: the three instances and the suite's hooks. */
export interface FleetTestContext {
  /** In this process, on its own store and bus connections. */
  readonly A: Peer;
  /** In this process; its bus goes through the proxy `cutBus` cuts. */
  readonly B: Peer;
  /** In its own process (the worker). */
  readonly C: Peer;
  readonly maxStaleMs: number;
  cutBus(): Promise<void>;
  restoreBus(): Promise<void>;
  killServer(): Promise<void>;
  restartServer(): Promise<void>;
}

export interface FleetTest {
  readonly name: string;
  /** Its own budget when it needs more than the suite's. */
  readonly timeoutMs?: number;
  run(ctx: FleetTestContext): Promise<void>;
}

function fleetTests<const T extends readonly FleetTest[]>(tests: T): T {
  return tests;
}

/** Polls `check` up to `attempts` times, 20 ms apart; fails with `what` if it never held. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  attempts = 500,
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`conformance fleet: timed out waiting until ${what}`);
}

/** True once `peer`'s bus reports `state`. */
export const busIs = (peer: Peer, state: string) => async () =>
  (await peer.stats()).busState === state;

const ctxOf = (email: string) => ({
  user: { email, name: "A" },
  personalTeamId: "p1",
  isTokenRevoked: false,
});

const l1Hits = async (peer: Peer) => (await peer.stats()).l1Hits as number;

async function revokedFor(peer: Peer, email: string, jti: string): Promise<boolean> {
  const ctx = (await peer.call("getAuthContext", email, jti)) as { isTokenRevoked: boolean };
  return ctx.isTokenRevoked;
}

// Waits are bounded loops; the only sleeps are of maxStaleMs, after which the staleness bound
// says the answer must already be right.
export const fleetSuite = fleetTests([
  {
    name: "a revocation on one instance is seen by the others within maxStaleMs",
    async run({ A, B, C, maxStaleMs }) {
      const email = "rev@x.com";
      for (const peer of [A, B, C]) {
        await peer.call("setAuthContext", email, "j-rev", ctxOf(email));
        // Served from L1 before the revocation: the later answer cannot come from a cold L1.
        const before = await l1Hits(peer);
        deepStrictEqual(await peer.call("getAuthContext", email, "j-rev"), ctxOf(email));
        strictEqual(await l1Hits(peer), before + 1, `${peer.label} answered from L1`);
      }
      await A.call("invalidateRevocation", "j-rev");
      await sleep(maxStaleMs);
      for (const peer of [B, C]) {
        strictEqual(await revokedFor(peer, email, "j-rev"), true, `${peer.label} sees it`);
        strictEqual(await peer.call("isTokenRevoked", "j-rev"), true, peer.label);
      }
    },
  },
  {
    name: "invalidateUser on one instance drops the user everywhere within maxStaleMs",
    async run({ A, B, C, maxStaleMs }) {
      const email = "user@x.com";
      for (const peer of [A, B, C]) {
        await peer.call("setUser", email, { email, role: "admin" });
        await peer.call("setUserRole", email, "t1", "owner");
        strictEqual(await peer.call("getUserRole", email, "t1"), "owner", peer.label);
      }
      await C.call("invalidateUser", email);
      await C.call("invalidateUserRole", email, "t1");
      await sleep(maxStaleMs);
      for (const peer of [A, B, C]) {
        strictEqual(await peer.call("getUser", email), undefined, `${peer.label} user`);
        strictEqual(await peer.call("getUserRole", email, "t1"), undefined, `${peer.label} role`);
      }
    },
  },
  {
    name: "team invalidations on one instance reach the others within maxStaleMs",
    async run({ A, B, C, maxStaleMs }) {
      const member = "team-member@x.com";
      const owner = "team-owner@x.com";
      const fill = async () => {
        for (const peer of [A, B, C]) {
          await peer.call("setUserTeams", member, true, ["t1", "t2"]);
          await peer.call("setTeamMembershipValid", member, ["t1"], true);
          await peer.call("setUserRole", member, "t1", "member");
          await peer.call("setUserRole", owner, "t1", "owner");
          const before = await l1Hits(peer);
          deepStrictEqual(await peer.call("getUserTeams", member, true), ["t1", "t2"]);
          strictEqual(await peer.call("getUserRole", owner, "t1"), "owner");
          strictEqual(await l1Hits(peer), before + 2, `${peer.label} answered from L1`);
        }
      };
      await fill();
      // One user's team-derived entries, from B.
      await B.call("invalidateTeam", member);
      await sleep(maxStaleMs);
      for (const peer of [A, B, C]) {
        strictEqual(
          await peer.call("getUserTeams", member, true),
          undefined,
          `${peer.label} teams`,
        );
        strictEqual(
          await peer.call("getTeamMembershipValid", member, ["t1"]),
          undefined,
          `${peer.label} membership`,
        );
        strictEqual(await peer.call("getUserRole", member, "t1"), undefined, `${peer.label} role`);
        strictEqual(await peer.call("getUserRole", owner, "t1"), "owner", `${peer.label} kept`);
      }
      // Every role in a team, from A; then a user's team lists and memberships, from C.
      await fill();
      await A.call("invalidateTeamRoles", "t1");
      await C.call("invalidateUserTeams", member);
      await C.call("invalidateTeamMembership", member);
      await sleep(maxStaleMs);
      for (const peer of [A, B, C]) {
        strictEqual(await peer.call("getUserRole", owner, "t1"), undefined, `${peer.label} owner`);
        strictEqual(
          await peer.call("getUserRole", member, "t1"),
          undefined,
          `${peer.label} member`,
        );
        strictEqual(
          await peer.call("getUserTeams", member, true),
          undefined,
          `${peer.label} teams`,
        );
        strictEqual(
          await peer.call("getTeamMembershipValid", member, ["t1"]),
          undefined,
          `${peer.label} membership`,
        );
      }
    },
  },
  {
    name: "with its bus cut, an instance serves nothing from L1; once reconnected it does again",
    async run({ A, B, maxStaleMs, cutBus, restoreBus }) {
      const email = "cut@x.com";
      await B.call("setAuthContext", email, "j-cut", ctxOf(email));
      await B.call("setUserRole", email, "t1", "member");
      const warm = await l1Hits(B);
      deepStrictEqual(await B.call("getAuthContext", email, "j-cut"), ctxOf(email));
      strictEqual(await l1Hits(B), warm + 1, "B answered from L1 before the cut");

      await cutBus();
      try {
        await until("B's bus is down", busIs(B, "down"));
        await sleep(maxStaleMs);
        const s = await B.stats();
        deepStrictEqual(await B.call("getAuthContext", email, "j-cut"), ctxOf(email));
        strictEqual(await B.call("getUserRole", email, "t1"), "member");
        const after = await B.stats();
        strictEqual(after.l1Hits, s.l1Hits, "both answers came from L2, none from L1");
        strictEqual(after.l2Hits, (s.l2Hits as number) + 2);
        // A revocation B's bus never delivers still reaches B: through L2, on every read.
        await A.call("invalidateRevocation", "j-cut");
        strictEqual(await revokedFor(B, email, "j-cut"), true);
      } finally {
        await restoreBus();
      }
      await until("B's bus is up again", busIs(B, "up"));
      await B.call("setUserRole", email, "t2", "member");
      await until("B serves from L1 again", async () => {
        const before = await l1Hits(B);
        await B.call("getUserRole", email, "t2");
        return (await l1Hits(B)) === before + 1;
      });
    },
  },
  {
    name: "after the server is killed and restarted, every instance recovers by itself",
    timeoutMs: 60_000,
    async run({ A, B, C, maxStaleMs, killServer, restartServer }) {
      const email = "restart@x.com";
      await killServer();
      // While the server is down: misses (never a throw) and invalidations that report failure.
      strictEqual(await A.call("getUser", email), undefined);
      await rejects(() => A.call("invalidateUser", email));
      await until("every bus is down", async () => {
        for (const peer of [A, B, C]) if (!(await busIs(peer, "down")())) return false;
        return true;
      });
      await restartServer();
      await until("every bus is up and every L2 healthy", async () => {
        for (const peer of [A, B, C]) {
          // A read lets a half-open breaker probe the server again.
          await peer.call("getUser", email);
          const st = await peer.stats();
          if (st.busState !== "up" || st.l2Healthy !== true) return false;
        }
        return true;
      });
      for (const peer of [A, B, C])
        await peer.call("setAuthContext", email, "j-back", ctxOf(email));
      await B.call("invalidateRevocation", "j-back");
      await sleep(maxStaleMs);
      for (const peer of [A, C])
        strictEqual(await revokedFor(peer, email, "j-back"), true, `${peer.label} sees it`);
      // And L1 is trusted again: a fresh entry is served without L2. (Not `email`: its misses
      // above may have been followed by the reset, and a set after such a miss is refused.)
      const fresh = "restart-fresh@x.com";
      await C.call("setUser", fresh, { email: fresh });
      const before = await l1Hits(C);
      deepStrictEqual(await C.call("getUser", fresh), { email: fresh });
      strictEqual(await l1Hits(C), before + 1, "C answered from L1");
    },
  },
]);

/** The names of the fleet tests, for `skip`. */
export type FleetTestName = (typeof fleetSuite)[number]["name"];
