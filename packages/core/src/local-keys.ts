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
