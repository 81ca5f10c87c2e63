/**
 * Pair spaces of the L1 (see L1Cache.getPair): entries looked up by two identifiers without
 * building a key string. The strings of `localKey` stay the identity of every entry for
 * singleflight and the get-then-set tickets (built on a miss only).
 * - CTX: (email, jti) for a context with a jti. A context without a jti is the flat
 *   `localKey.ctx(email, undefined)`, so it never meets any real jti, "" included.
 * - USER: (email, "u") the user record, (email, "T" | "t") its team lists.
 * - ROLE: (email, teamId).
 * - JTI: (jti, "n") the "not revoked" entry.
 */
export const localSpace = {
  CTX: 0,
  USER: 1,
  ROLE: 2,
  JTI: 3,
} as const;

/** The `sub` of a USER-space pair. */
export const userSub = {
  user: "u",
  teams: (includePersonal: boolean): string => (includePersonal ? "T" : "t"),
} as const;

/** The `sub` of the JTI-space pair holding "not revoked". */
export const NOT_REVOKED_SUB = "n";

/**
 * L1 keys and owner tags. They never leave the process, so they need no escaping, only
 * injectivity: one kind letter, then length-prefixed identifiers (the last one runs to the end).
 */
export const localKey = {
  ctx: (email: string, jti: string | undefined): string =>
    jti === undefined ? `c${email.length}:${email}` : `c${email.length}:${email}|${jti}`,
  user: (email: string): string => `u${email}`,
  role: (email: string, teamId: string): string => `r${email.length}:${email}${teamId}`,
  teams: (email: string, includePersonal: boolean): string =>
    `${includePersonal ? "T" : "t"}${email}`,
  /** `teamIds` sorted and de-duplicated. */
  mem: (email: string, teamIds: readonly string[]): string => {
    let k = `m${email.length}:${email}`;
    for (const t of teamIds) k += `${t.length}:${t}`;
    return k;
  },
  nr: (jti: string): string => `n${jti}`,
};

/** Owner tags of L1 entries, so one invalidation drops a group without scanning. */
export const localTag = {
  ctxOfUser: (email: string): string => `C${email}`,
  rolesOfUser: (email: string): string => `R${email}`,
  memOfUser: (email: string): string => `M${email}`,
  /** Contexts and the "not revoked" entry of one jti. */
  jti: (jti: string): string => `J${jti}`,
  rolesOfTeam: (teamId: string): string => `G${teamId}`,
};

/**
 * Owner tags by hashed identifier (`KeyCodec.id` under `hashIdentifiers`), added to every L1
 * entry when the option is on, so an entry read off the log (which then names identifiers only
 * by their HMAC) finds what it drops. They start with `h`, which no tag of {@link localTag}
 * does; hashes are fixed-length base64url, so `.` separates two of them unambiguously.
 */
export const hashedTag = {
  /** The user record (`user` drops it with {@link hashedTag.derived}). */
  user: (email: string): string => `hu${email}`,
  /** Every other entry of the user: team lists, contexts, roles, membership checks. */
  derived: (email: string): string => `hd${email}`,
  teams: (email: string): string => `ht${email}`,
  mem: (email: string): string => `hm${email}`,
  role: (email: string, teamId: string): string => `hr${email}.${teamId}`,
  rolesOfTeam: (teamId: string): string => `hg${teamId}`,
  /** Contexts and the "not revoked" entry of one jti. */
  jti: (jti: string): string => `hj${jti}`,
};
