/**
 * The invalidation table (src/invalidations.ts), walked message by message: for each one, every
 * kind's entries of the subject and of bystanders are cached on A (local side) and read into
 * B's L1 (follower side, through the log); then A sends the message. An entry is covered when
 * its kind's owner tags meet the message's tags in the table. Covered: gone from A's L1, from
 * B's L1 and from L2 (a fresh instance does not read the old value back). Not covered: still
 * an L1 hit on A and B, still in L2. Both with identifiers as given and hashed in the log.
 */
import { describe, expect, test } from "bun:test";
import type { InvalidationMessage } from "../src/adapter.ts";
import {
  type AuthCache,
  type AuthCacheOptions,
  createAuthCache,
  silentLogger,
} from "../src/index.ts";
import { invalidationOf } from "../src/invalidations.ts";
import type { Kind } from "../src/kind.ts";
import {
  contextKind,
  membershipKind,
  notRevokedKind,
  roleKind,
  teamObjectsKind,
  userKind,
  userTeamsKind,
} from "../src/kinds.ts";
import { localTags } from "../src/l1-address.ts";
import { ManualBus, MapStore } from "./support/map-store.ts";

/** One cached entry: its kind and identity (for the table), and how the API reads and sets it. */
interface Entry {
  readonly name: string;
  readonly owners: string[];
  read(c: AuthCache): Promise<unknown>;
  set(c: AuthCache): Promise<void>;
  readonly value: unknown;
}

function entry<V, P>(
  name: string,
  kind: Kind<V, P>,
  id: string,
  p: P,
  value: unknown,
  read: (c: AuthCache) => Promise<unknown>,
  set: (c: AuthCache) => Promise<void>,
): Entry {
  return { name, owners: kind.owners(localTags, id, p), read, set, value };
}

const ctx = (email: string) => ({ user: { email }, personalTeamId: null, isTokenRevoked: false });

/** Every kind, for the subject (a@x, team t1, jti j1) and for bystanders. */
const ENTRIES: Entry[] = [
  ...(["a@x", "b@x"] as const).flatMap((email) => {
    const jti = email === "a@x" ? "j1" : "j2";
    return [
      entry(
        `context(${email}, ${jti})`,
        contextKind(),
        email,
        jti,
        ctx(email),
        (c) => c.getAuthContext(email, jti),
        (c) => c.setAuthContext(email, jti, ctx(email)),
      ),
      entry(
        `context(${email})`,
        contextKind(),
        email,
        undefined,
        ctx(email),
        (c) => c.getAuthContext(email),
        (c) => c.setAuthContext(email, null, ctx(email)),
      ),
      entry(
        `user(${email})`,
        userKind(),
        email,
        undefined,
        { email },
        (c) => c.getUser(email),
        (c) => c.setUser(email, { email }),
      ),
      ...["t1", "t2"].map((team) =>
        entry(
          `role(${email}, ${team})`,
          roleKind,
          email,
          team,
          `r-${team}`,
          (c) => c.getUserRole(email, team),
          (c) => c.setUserRole(email, team, `r-${team}`),
        ),
      ),
      ...[true, false].map((personal) =>
        entry(
          `userTeams(${email}, ${personal})`,
          userTeamsKind,
          email,
          personal,
          ["t1"],
          (c) => c.getUserTeams(email, personal),
          (c) => c.setUserTeams(email, personal, ["t1"]),
        ),
      ),
      ...[true, false].map((personal) =>
        entry(
          `teamObjects(${email}, ${personal})`,
          teamObjectsKind(),
          email,
          personal,
          [{ id: "t1", name: "One" }],
          (c) => c.getUserTeamObjects(email, personal),
          (c) => c.setUserTeamObjects(email, personal, [{ id: "t1", name: "One" }]),
        ),
      ),
      entry(
        `membership(${email})`,
        membershipKind,
        email,
        ["t1", "t2"],
        true,
        (c) => c.getTeamMembershipValid(email, ["t2", "t1"]),
        (c) => c.setTeamMembershipValid(email, ["t1", "t2"], true),
      ),
      entry(
        `notRevoked(${jti})`,
        notRevokedKind,
        jti,
        undefined,
        false,
        (c) => c.isTokenRevoked(jti),
        (c) => c.setNotRevoked(jti),
      ),
    ];
  }),
];

type Sent = Exclude<InvalidationMessage, { type: "all" }>;
const FAR = 1_000_000 + 3_600_000;

/** Every message of the table (by wire type: the compiler checks none is missing), the message
 *  as the table sees it, and the public call that sends it. */
const MESSAGES: {
  [T in Sent["type"]]: [Extract<Sent, { type: T }>, (c: AuthCache) => Promise<unknown>];
} = {
  user: [{ type: "user", email: "a@x" }, (c) => c.invalidateUser("a@x")],
  team: [{ type: "team", email: "a@x" }, (c) => c.invalidateTeam("a@x")],
  teams: [{ type: "teams", email: "a@x" }, (c) => c.invalidateUserTeams("a@x")],
  membership: [{ type: "membership", email: "a@x" }, (c) => c.invalidateTeamMembership("a@x")],
  role: [{ type: "role", email: "a@x", teamId: "t1" }, (c) => c.invalidateUserRole("a@x", "t1")],
  teamRoles: [{ type: "teamRoles", teamId: "t1" }, (c) => c.invalidateTeamRoles("t1")],
  revoke: [{ type: "revoke", jti: "j1", expiresAt: FAR }, (c) => c.invalidateRevocation("j1", FAR)],
  revokeMany: [
    { type: "revokeMany", revocations: [{ jti: "j1", expiresAt: FAR }] },
    (c) => c.syncRevokedTokens([{ jti: "j1", expiresAt: FAR }]),
  ],
};

async function l1Hit(c: AuthCache, e: Entry): Promise<{ hit: boolean; value: unknown }> {
  const before = c.stats().l1Hits;
  const value = await e.read(c);
  return { hit: c.stats().l1Hits === before + 1, value };
}

describe("the invalidation table: both sides of every message", () => {
  for (const mode of ["plain", "hashed"] as const) {
    for (const [type, [message, send]] of Object.entries(MESSAGES)) {
      test(`${type} (${mode} log)`, async () => {
        const clock = { t: 1_000_000 };
        const store = new MapStore(() => clock.t);
        const bus = new ManualBus();
        const options: AuthCacheOptions = {
          store,
          logger: silentLogger,
          now: () => clock.t,
          maxStaleMs: 1_000,
          ...(mode === "hashed" ? { hashIdentifiers: { key: "table-secret" } } : {}),
        };
        const a = createAuthCache({ ...options, bus });
        const b = createAuthCache({ ...options, bus });
        await Promise.resolve();
        bus.confirm(clock.t);
        for (const e of ENTRIES) await e.set(a);
        for (const e of ENTRIES) expect((await l1Hit(a, e)).hit).toBe(true);
        for (const e of ENTRIES) expect(await e.read(b)).toEqual(e.value as never);
        for (const e of ENTRIES) expect((await l1Hit(b, e)).hit).toBe(true);

        const tags = new Set(invalidationOf(message as Sent).tags(localTags));
        const covered = (e: Entry) => e.owners.some((o) => tags.has(o));
        // Every message covers some entry of the subject and spares every bystander.
        expect(ENTRIES.some(covered)).toBe(true);
        expect(ENTRIES.filter((e) => !/a@x|j1|t1/.test(e.name)).some(covered)).toBe(false);

        await send(a);
        bus.confirm(clock.t);
        const fresh = createAuthCache(options);
        for (const e of ENTRIES) {
          for (const [side, c] of [
            ["local", a],
            ["follower", b],
          ] as const) {
            const r = await l1Hit(c, e);
            expect({ entry: e.name, side, l1Hit: r.hit }).toEqual({
              entry: e.name,
              side,
              l1Hit: !covered(e),
            });
            if (!covered(e)) expect(r.value).toEqual(e.value as never);
            else expect(r.value).not.toEqual(e.value as never);
          }
          const fromL2 = await e.read(fresh);
          if (covered(e))
            expect({ entry: e.name, l2: fromL2 }).not.toEqual({ entry: e.name, l2: e.value });
          else expect({ entry: e.name, l2: fromL2 }).toEqual({ entry: e.name, l2: e.value });
        }
        for (const c of [a, b, fresh]) await c.close();
      });
    }
  }
});
