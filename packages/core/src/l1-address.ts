/**
 * Where an entry lives in L1, and the owner tags invalidations find it by. Nothing here leaves
 * the process: no escaping, only injectivity.
 */

/**
 * The L1 spaces. Every entry is addressed by a pair (`group`, `sub`) in one space (see
 * L1Cache.getPair): a hit looks the entry up by the identifiers it was asked for, without
 * building or hashing a joined key string.
 */
export const L1_SPACE = {
  /** (email, jti): a token's context. */
  CONTEXT: 0,
  /** (email, ""): a context asked without a jti (never meets any jti, "" included). */
  CONTEXT_WITHOUT_JTI: 1,
  /** (email, sub): the user record ("u") and the user's lists ("T"/"t" team ids, "O"/"o"
   *  team records; upper case: personal team included). */
  USER: 2,
  /** (email, teamId): a role. */
  ROLE: 3,
  /** (email, team ids): a membership check (see {@link teamIdsSub}). */
  MEMBERSHIP: 4,
  /** (jti, "n"): "not revoked". */
  JTI: 5,
} as const;

export type L1Space = (typeof L1_SPACE)[keyof typeof L1_SPACE];

/** One entry's L1 address. */
export interface L1Address {
  readonly space: L1Space;
  readonly group: string;
  readonly sub: string;
}

/** The identity of an entry as one string (for singleflight and the kept get misses): the
 *  space, then the length-prefixed group, then the sub. Built on an L1 miss only. */
export function addressKey(a: L1Address): string {
  return `${a.space}${a.group.length}:${a.group}${a.sub}`;
}

/** The sub of a membership check: the canonical (sorted, de-duplicated) ids, length-prefixed. */
export function teamIdsSub(teamIds: readonly string[]): string {
  let sub = "";
  for (const t of teamIds) sub += `${t.length}:${t}`;
  return sub;
}

/**
 * The owner tags of L1 entries: every entry carries the tags of what it is about, and an
 * invalidation drops every entry carrying one of its tags (see invalidations.ts). The same
 * names serve the identifiers as given (`localTags`) and, under `hashIdentifiers`, their HMACs
 * (the tags log entries carrying hashed identifiers are applied by).
 */
export interface Tags {
  /** The user record. */
  user(email: string): string;
  /** Every other entry of the user: contexts, roles, team lists, membership checks. */
  derived(email: string): string;
  /** The user's team lists (ids and records). */
  teamLists(email: string): string;
  /** The user's membership checks. */
  membership(email: string): string;
  /** One role of the user in one team. */
  role(email: string, teamId: string): string;
  /** Every user's role in one team. */
  teamRoles(teamId: string): string;
  /** The contexts and the "not revoked" entry of one jti. */
  jti(jti: string): string;
}

/** The tags under prefix `p` ("l" local, "h" hashed: they never meet) of identifiers mapped by
 *  `id`. Length prefixes keep two-identifier tags injective. */
export function tagsOf(p: string, id: (identifier: string) => string): Tags {
  return {
    user: (email) => `${p}u${id(email)}`,
    derived: (email) => `${p}d${id(email)}`,
    teamLists: (email) => `${p}t${id(email)}`,
    membership: (email) => `${p}m${id(email)}`,
    role: (email, teamId) => {
      const e = id(email);
      return `${p}r${e.length}:${e}${id(teamId)}`;
    },
    teamRoles: (teamId) => `${p}g${id(teamId)}`,
    jti: (jti) => `${p}j${id(jti)}`,
  };
}

const same = (s: string): string => s;

/** Tags by the identifiers as given. */
export const localTags: Tags = tagsOf("l", same);

/** Tags by hashed identifier, for a log entry whose identifiers are hashed already. */
export const hashedMessageTags: Tags = tagsOf("h", same);
