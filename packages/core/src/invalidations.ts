/**
 * One entry per invalidation message: what it deletes in L2, what it drops in L1, and so which
 * reads in flight it makes stale. `invalidate*` (the local side: engine.invalidate) and a
 * follower applying the log (the remote side: engine.apply) read the same entry.
 *
 * L1 works by owner tags: every entry carries the tags of what it is about (its kind's
 * `owners`), and a message drops every entry carrying one of its {@link Invalidation.tags};
 * the tickets, kept misses and loads in flight of those entries turn stale. L2 works by the
 * phases of {@link Invalidation.l2}: the user's fence (or the team's generation) is bumped
 * first, so a fill that raced it is refused, then keys and owner indexes are dropped together.
 *
 * The log's wire names are older than these names and stay as they are (followers of either
 * version read each other); {@link invalidationOf} maps them, here and only here:
 * `team` = userTeamEntries, `teams` = userTeamLists, `role` = userRole, `revoke` = revocation,
 * `revokeMany` = revocations.
 */
import type { InvalidationMessage, RevokedToken, Store, StoreWrite } from "./contracts.ts";
import type { KeyCodec } from "./key-codec.ts";
import { PER_USER_KINDS } from "./kinds.ts";
import { localTags, type Tags } from "./l1-address.ts";

/** One step of an invalidation's L2 work. */
export type StoreStep = (store: Store) => Promise<unknown>;

/** How long a fence or team generation counter lives after its last bump. */
export const FENCE_LIFETIME_MS = 86_400_000;
/** Store calls a batch of revocations keeps in flight at once. */
export const REVOCATION_CONCURRENCY = 16;

type Message<T extends InvalidationMessage["type"]> = Extract<InvalidationMessage, { type: T }>;

/** What one kind of message does. */
export interface Invalidation<M extends InvalidationMessage> {
  /** The L1 owner tags it drops (built with `t`: local, or by hashed identifier). */
  tags(m: M, t: Tags): string[];
  /** Its L2 work, in phases (each phase's steps run concurrently). */
  l2(m: M, c: KeyCodec, now: number): StoreStep[][];
  /** Its L2 work as writes a bus can carry ahead of its entry (`InvalidationBus.publishAfter`),
   *  for the kinds whose work is one phase of such writes; the same writes as `l2`. */
  writes?(m: M, c: KeyCodec, now: number): StoreWrite[];
  /** The revocations it records, each until its deadline (`retainUntil` when none is known). */
  revokes(m: M, retainUntil: number): RevokedToken[];
  /** The log form of `m` under `hashIdentifiers`: every identifier mapped by `h`. */
  hashed(m: M, h: (identifier: string) => string, keyId: string): M;
}

const none = (): RevokedToken[] => [];

/**
 * The L2 phases of a per-user message carrying `tags`: bump the user's fence first (a fill that
 * raced it is refused), then drop, together, every per-user kind whose entries carry one of
 * the tags (by the user's owner index of the kind, or by its keys). So L2 drops what L1 drops.
 */
function userPhases(c: KeyCodec, now: number, email: string, tags: string[]): StoreStep[][] {
  const fence = c.fence(email);
  const owners: string[] = [];
  const keys: string[] = [];
  for (const kind of PER_USER_KINDS) {
    const perUser = kind.perUser;
    if (perUser === undefined || !perUser.tags(localTags, email).some((t) => tags.includes(t))) {
      continue;
    }
    const drop = perUser.drop(c, email);
    if ("owner" in drop) owners.push(c.userOwner(email, drop.owner));
    else keys.push(...drop.keys);
  }
  const drops: StoreStep[] = owners.map((owner) => (s) => s.deleteOwner(owner));
  if (keys.length > 0) drops.push((s) => s.deleteMany(keys));
  return [[(s) => s.incr(fence, now + FENCE_LIFETIME_MS)], drops];
}

/** Everything cached about a user (`invalidateUser`). */
export const user: Invalidation<Message<"user">> = {
  tags: (m, t) => [t.user(m.email), t.derived(m.email)],
  l2: (m, c, now) => userPhases(c, now, m.email, user.tags(m, localTags)),
  revokes: none,
  hashed: (m, h, keyId) => ({ type: m.type, email: h(m.email), hashed: keyId }),
};

/** Every entry derived from a user's teams: contexts, roles, team lists, membership checks
 *  (`invalidateTeam`; wire name `team`). */
export const userTeamEntries: Invalidation<Message<"team">> = {
  tags: (m, t) => [t.derived(m.email)],
  l2: (m, c, now) => userPhases(c, now, m.email, userTeamEntries.tags(m, localTags)),
  revokes: none,
  hashed: (m, h, keyId) => ({ type: m.type, email: h(m.email), hashed: keyId }),
};

/** A user's team lists (`invalidateUserTeams`; wire name `teams`). */
export const userTeamLists: Invalidation<Message<"teams">> = {
  tags: (m, t) => [t.teamLists(m.email)],
  l2: (m, c, now) => userPhases(c, now, m.email, userTeamLists.tags(m, localTags)),
  revokes: none,
  hashed: (m, h, keyId) => ({ type: m.type, email: h(m.email), hashed: keyId }),
};

/** A user's membership checks (`invalidateTeamMembership`). */
export const membership: Invalidation<Message<"membership">> = {
  tags: (m, t) => [t.membership(m.email)],
  l2: (m, c, now) => userPhases(c, now, m.email, membership.tags(m, localTags)),
  revokes: none,
  hashed: (m, h, keyId) => ({ type: m.type, email: h(m.email), hashed: keyId }),
};

/** One role of one user (`invalidateUserRole`; wire name `role`). */
export const userRole: Invalidation<Message<"role">> = {
  tags: (m, t) => [t.role(m.email, m.teamId)],
  l2: (m, c, now) => {
    const fence = c.fence(m.email);
    const key = c.role(m.email, m.teamId);
    return [[(s) => s.incr(fence, now + FENCE_LIFETIME_MS)], [(s) => s.deleteMany([key])]];
  },
  revokes: none,
  hashed: (m, h, keyId) => ({
    type: m.type,
    email: h(m.email),
    teamId: h(m.teamId),
    hashed: keyId,
  }),
};

/** Every user's role in one team (`invalidateTeamRoles`): its generation first (every role
 *  entry written before is dead, wherever it is), then its owner index. */
export const teamRoles: Invalidation<Message<"teamRoles">> = {
  tags: (m, t) => [t.teamRoles(m.teamId)],
  l2: (m, c, now) => {
    const gen = c.teamGeneration(m.teamId);
    const owner = c.teamOwner(m.teamId);
    return [[(s) => s.incr(gen, now + FENCE_LIFETIME_MS)], [(s) => s.deleteOwner(owner)]];
  },
  revokes: none,
  hashed: (m, h, keyId) => ({ type: m.type, teamId: h(m.teamId), hashed: keyId }),
};

/** One token revoked (`invalidateRevocation`; wire name `revoke`): into the revoked sets, its
 *  contexts and "not revoked" entry dropped. `expiresAt` is always set by core. */
export const revocation: Invalidation<Message<"revoke">> = {
  tags: (m, t) => [t.jti(m.jti)],
  l2: (m, c, now) => [revocation.writes?.(m, c, now).map(writeStep) ?? []],
  writes: (m, c, now) => [
    {
      op: "addMember",
      set: c.revoked(),
      member: c.revokedMember(m.jti),
      expiresAt: m.expiresAt ?? now,
    },
    { op: "delete", keys: [c.notRevoked(m.jti)] },
  ],
  revokes: (m, retainUntil) => [{ jti: m.jti, expiresAt: m.expiresAt ?? retainUntil }],
  hashed: (m, h, keyId) =>
    m.expiresAt === undefined
      ? { type: m.type, jti: h(m.jti), hashed: keyId }
      : { type: m.type, jti: h(m.jti), expiresAt: m.expiresAt, hashed: keyId },
};

/** Many tokens revoked (`syncRevokedTokens`; wire name `revokeMany`): into the revoked set
 *  {@link REVOCATION_CONCURRENCY} at a time. */
export const revocations: Invalidation<Message<"revokeMany">> = {
  tags: (m, t) => m.revocations.map((r) => t.jti(r.jti)),
  l2: (m, c) => {
    const set = c.revoked();
    const phases: StoreStep[][] = [];
    for (let i = 0; i < m.revocations.length; i += REVOCATION_CONCURRENCY) {
      phases.push(
        m.revocations.slice(i, i + REVOCATION_CONCURRENCY).map((r) => {
          const member = c.revokedMember(r.jti);
          return (s: Store) => s.addMember(set, member, r.expiresAt);
        }),
      );
    }
    return phases;
  },
  revokes: (m) => [...m.revocations],
  hashed: (m, h, keyId) => ({
    type: m.type,
    revocations: m.revocations.map((r) => ({ jti: h(r.jti), expiresAt: r.expiresAt })),
    hashed: keyId,
  }),
};

/** The store call that makes `w` (what a bus's `publishAfter` makes in its script). */
export function writeStep(w: StoreWrite): StoreStep {
  return w.op === "addMember"
    ? (s) => s.addMember(w.set, w.member, w.expiresAt)
    : (s) => s.deleteMany([...w.keys]);
}

/** A message with its table entry, ready to apply (the entry's functions bound to it). */
export interface BoundInvalidation {
  readonly message: Exclude<InvalidationMessage, { type: "all" }>;
  tags(t: Tags): string[];
  l2(c: KeyCodec, now: number): StoreStep[][];
  /** Undefined for a kind whose L2 work a bus cannot carry (see `Invalidation.writes`). */
  writes(c: KeyCodec, now: number): StoreWrite[] | undefined;
  revokes(retainUntil: number): RevokedToken[];
  hashed(h: (identifier: string) => string, keyId: string): InvalidationMessage;
}

/** One object per message, its methods on the prototype (a message applied from the log or
 *  invalidated here builds one, not a closure per method). */
class Bound<M extends Exclude<InvalidationMessage, { type: "all" }>> implements BoundInvalidation {
  constructor(
    private readonly entry: Invalidation<M>,
    readonly message: M,
  ) {}
  tags(t: Tags): string[] {
    return this.entry.tags(this.message, t);
  }
  l2(c: KeyCodec, now: number): StoreStep[][] {
    return this.entry.l2(this.message, c, now);
  }
  writes(c: KeyCodec, now: number): StoreWrite[] | undefined {
    return this.entry.writes?.(this.message, c, now);
  }
  revokes(retainUntil: number): RevokedToken[] {
    return this.entry.revokes(this.message, retainUntil);
  }
  hashed(h: (identifier: string) => string, keyId: string): InvalidationMessage {
    return this.entry.hashed(this.message, h, keyId);
  }
}

function bind<M extends Exclude<InvalidationMessage, { type: "all" }>>(
  entry: Invalidation<M>,
  m: M,
): BoundInvalidation {
  return new Bound(entry, m);
}

/** The table entry of a message, by its wire type (`all`, which clears everything, has none). */
export function invalidationOf(
  m: Exclude<InvalidationMessage, { type: "all" }>,
): BoundInvalidation {
  switch (m.type) {
    case "user":
      return bind(user, m);
    case "team":
      return bind(userTeamEntries, m);
    case "teams":
      return bind(userTeamLists, m);
    case "membership":
      return bind(membership, m);
    case "role":
      return bind(userRole, m);
    case "teamRoles":
      return bind(teamRoles, m);
    case "revoke":
      return bind(revocation, m);
    case "revokeMany":
      return bind(revocations, m);
  }
}
