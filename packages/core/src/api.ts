import type { Loader } from "./engine.ts";
import type { RevocationSource } from "./revocation.ts";
import type { AuthCacheStats } from "./stats.ts";
import type { AuthContext, TeamRecord, UserRecord } from "./values.ts";

/**
 * The two-tier auth cache (see `createAuthCache`). Every `get*` returns `undefined` on a miss;
 * every `set*` caches a frozen copy (never the caller's object) unless an invalidation of the
 * entry overlapped the load it follows; every `resolve*` is a get, one shared loader call on a
 * miss, and a fenced set. Identifiers are at most MAX_IDENTIFIER_LENGTH characters (TypeError).
 * L2 and bus failures never throw from a get or set: they are misses, logged and counted.
 */
export interface AuthCache<U extends object = UserRecord, T extends object = TeamRecord> {
  /**
   * The auth context of a token (email, jti); a known-revoked jti yields
   * `{ user: null, personalTeamId: null, isTokenRevoked: true }` without touching L2.
   * @example
   * ```ts
   * const ctx = await cache.getAuthContext(payload.email, payload.jti);
   * if (ctx?.isTokenRevoked) return c.text("Token has been revoked", 401);
   * ```
   */
  getAuthContext(email: string, jti?: string | null): Promise<AuthContext<U> | undefined>;
  /**
   * `getAuthContext` from L1 and the revoked set only, synchronously; `undefined` when L1
   * cannot answer (not counted as a miss: the async get that follows counts it).
   * @example
   * ```ts
   * const ctx = cache.getAuthContextSync(email, jti) ?? (await cache.getAuthContext(email, jti));
   * ```
   */
  getAuthContextSync(email: string, jti?: string | null): AuthContext<U> | undefined;
  /**
   * Caches a token's context (its user redacted). Not cached if the jti is known revoked.
   * @example
   * ```ts
   * await cache.setAuthContext(email, jti, { user, personalTeamId, isTokenRevoked: false });
   * ```
   */
  setAuthContext(email: string, jti: string | null | undefined, ctx: AuthContext<U>): Promise<void>;
  /**
   * The cached context, or the loader's. A loaded context with `isTokenRevoked: true` is
   * returned but never cached (the revoked set is).
   * @example
   * ```ts
   * const ctx = await cache.resolveAuthContext(email, jti, () => db.loadAuthContext(email, jti));
   * ```
   */
  resolveAuthContext(
    email: string,
    jti: string | null | undefined,
    loader: Loader<AuthContext<U>>,
  ): Promise<AuthContext<U> | undefined>;

  /**
   * The user record.
   * @example
   * ```ts
   * const user = await cache.getUser("ada@example.com");
   * ```
   */
  getUser(email: string): Promise<Readonly<U> | undefined>;
  /**
   * Caches a copy of `user` without the redacted fields (`redactFields`).
   * @example
   * ```ts
   * await cache.setUser(user.email, user); // password hash fields are not cached
   * ```
   */
  setUser(email: string, user: U): Promise<void>;
  /**
   * The cached user, or the loader's (`null` or `undefined`: nothing cached).
   * @example
   * ```ts
   * const user = await cache.resolveUser(email, () => db.users.find(email));
   * ```
   */
  resolveUser(email: string, loader: Loader<U | null>): Promise<Readonly<U> | undefined>;

  /**
   * The user's role in a team: a string, `null` = not a member (a cached answer),
   * `undefined` = miss.
   * @example
   * ```ts
   * const role = await cache.getUserRole(email, teamId);
   * if (role === null) return c.text("Not a member", 403);
   * ```
   */
  getUserRole(email: string, teamId: string): Promise<string | null | undefined>;
  /**
   * Caches a role, or `null` for "not a member".
   * @example
   * ```ts
   * await cache.setUserRole(email, teamId, "owner");
   * ```
   */
  setUserRole(email: string, teamId: string, role: string | null): Promise<void>;
  /**
   * The cached role, or the loader's (`null` is cached as "not a member").
   * @example
   * ```ts
   * const role = await cache.resolveUserRole(email, teamId, () => db.roleOf(email, teamId));
   * ```
   */
  resolveUserRole(
    email: string,
    teamId: string,
    loader: Loader<string | null>,
  ): Promise<string | null | undefined>;

  /**
   * The user's team ids, with or without the personal team (`[]` is a cached answer).
   * Always a miss when `teamsListEnabled` is false.
   * @example
   * ```ts
   * const teamIds = await cache.getUserTeams(email, true);
   * ```
   */
  getUserTeams(email: string, includePersonal: boolean): Promise<readonly string[] | undefined>;
  /**
   * Caches the user's team ids (order kept).
   * @example
   * ```ts
   * await cache.setUserTeams(email, true, ["team-personal", "team-1"]);
   * ```
   */
  setUserTeams(email: string, includePersonal: boolean, teamIds: readonly string[]): Promise<void>;
  /**
   * The cached team ids, or the loader's.
   * @example
   * ```ts
   * const ids = await cache.resolveUserTeams(email, true, () => db.teamIdsOf(email, true));
   * ```
   */
  resolveUserTeams(
    email: string,
    includePersonal: boolean,
    loader: Loader<readonly string[]>,
  ): Promise<readonly string[] | undefined>;

  /**
   * The user's teams as records (not just ids), with or without the personal team (`[]` is a
   * cached answer). Dropped with the user's team lists (`invalidateUserTeams`,
   * `invalidateTeam`, `invalidateUser`); always a miss when `teamsListEnabled` is false.
   * @example
   * ```ts
   * const teams = await cache.getUserTeamObjects(email, true); // [{ id, name, ... }]
   * ```
   */
  getUserTeamObjects(
    email: string,
    includePersonal: boolean,
  ): Promise<readonly Readonly<T>[] | undefined>;
  /**
   * Caches the user's teams as records (each a plain JSON object, copied and frozen).
   * @example
   * ```ts
   * await cache.setUserTeamObjects(email, true, [{ id: "t1", name: "Platform" }]);
   * ```
   */
  setUserTeamObjects(email: string, includePersonal: boolean, teams: readonly T[]): Promise<void>;
  /**
   * The cached team records, or the loader's.
   * @example
   * ```ts
   * const teams = await cache.resolveUserTeamObjects(email, true, () => db.teamsOf(email));
   * ```
   */
  resolveUserTeamObjects(
    email: string,
    includePersonal: boolean,
    loader: Loader<readonly T[]>,
  ): Promise<readonly Readonly<T>[] | undefined>;

  /**
   * Whether the user is a valid member of every team in `teamIds` (order and duplicates never
   * matter; an empty list is never cached).
   * @example
   * ```ts
   * const ok = await cache.getTeamMembershipValid(email, token.teams);
   * ```
   */
  getTeamMembershipValid(email: string, teamIds: readonly string[]): Promise<boolean | undefined>;
  /**
   * Caches a membership check.
   * @example
   * ```ts
   * await cache.setTeamMembershipValid(email, token.teams, true);
   * ```
   */
  setTeamMembershipValid(email: string, teamIds: readonly string[], valid: boolean): Promise<void>;
  /**
   * `getTeamMembershipValid` from L1 only, synchronously.
   * @example
   * ```ts
   * const ok = cache.getTeamMembershipValidSync(email, token.teams);
   * ```
   */
  getTeamMembershipValidSync(email: string, teamIds: readonly string[]): boolean | undefined;
  /**
   * `setTeamMembershipValid` into L1 only, synchronously (refused, like a set, after a kept
   * miss that an invalidation followed).
   * @example
   * ```ts
   * cache.setTeamMembershipValidSync(email, token.teams, checkedInDb);
   * ```
   */
  setTeamMembershipValidSync(email: string, teamIds: readonly string[], valid: boolean): void;
  /**
   * The cached membership check, or the loader's.
   * @example
   * ```ts
   * const ok = await cache.resolveTeamMembershipValid(email, ids, () => db.isMemberOfAll(email, ids));
   * ```
   */
  resolveTeamMembershipValid(
    email: string,
    teamIds: readonly string[],
    loader: Loader<boolean>,
  ): Promise<boolean | undefined>;

  /**
   * `true` = revoked, `false` = known not revoked, `undefined` = unknown (ask the database).
   * @example
   * ```ts
   * const revoked = (await cache.isTokenRevoked(jti)) ?? (await db.isRevoked(jti));
   * ```
   */
  isTokenRevoked(jti: string): Promise<boolean | undefined>;
  /**
   * Caches "not revoked" briefly (`ttl.revocation`); never outvotes a revocation.
   * @example
   * ```ts
   * if (!(await db.isRevoked(jti))) await cache.setNotRevoked(jti);
   * ```
   */
  setNotRevoked(jti: string): Promise<void>;
  /**
   * Marks the jti revoked (until `expiresAt`, epoch ms, when known; else for
   * `revocationRetentionMs`) on every instance; drops its contexts and "not revoked" entry.
   * Rejects with an InvalidationError if L2 or the bus failed (call it again).
   * @example
   * ```ts
   * await db.revoke(jti);
   * await cache.invalidateRevocation(jti, payload.exp * 1000);
   * ```
   */
  invalidateRevocation(jti: string, expiresAt?: number | null): Promise<void>;
  /**
   * Loads revocations (jtis, or `{ jti, expiresAt }`) from any source into every instance
   * and L2; returns how many were loaded. Rejects if the bus failed.
   * @example
   * ```ts
   * await cache.syncRevokedTokens(() => db.revokedTokens()); // at start-up
   * ```
   */
  syncRevokedTokens(source: RevocationSource): Promise<number>;

  /**
   * Drops everything cached about the user, on every instance. Every `invalidate*` runs after
   * the database write, and rejects with an InvalidationError if L2 or the bus failed.
   * @example
   * ```ts
   * await db.users.update(email, { active: false });
   * await cache.invalidateUser(email);
   * ```
   */
  invalidateUser(email: string): Promise<void>;
  /**
   * Drops the user's team-derived entries: roles, team lists, membership checks, contexts.
   * @example
   * ```ts
   * await db.members.add(teamId, email);
   * await cache.invalidateTeam(email);
   * ```
   */
  invalidateTeam(email: string): Promise<void>;
  /**
   * Drops one role of the user.
   * @example
   * ```ts
   * await cache.invalidateUserRole(email, teamId);
   * ```
   */
  invalidateUserRole(email: string, teamId: string): Promise<void>;
  /**
   * Drops every user's role in the team.
   * @example
   * ```ts
   * await db.teams.delete(teamId);
   * await cache.invalidateTeamRoles(teamId);
   * ```
   */
  invalidateTeamRoles(teamId: string): Promise<void>;
  /**
   * Drops the user's team lists.
   * @example
   * ```ts
   * await cache.invalidateUserTeams(email);
   * ```
   */
  invalidateUserTeams(email: string): Promise<void>;
  /**
   * Drops the user's membership checks.
   * @example
   * ```ts
   * await cache.invalidateTeamMembership(email);
   * ```
   */
  invalidateTeamMembership(email: string): Promise<void>;
  /**
   * Clears every kind on every instance; confirmed revocations are kept.
   * @example
   * ```ts
   * await cache.invalidateAll(); // after a bulk import
   * ```
   */
  invalidateAll(): Promise<void>;

  /**
   * Counters and health (see AuthCacheStats).
   * @example
   * ```ts
   * const { hitRate, l2Healthy, busState } = cache.stats();
   * ```
   */
  stats(): AuthCacheStats;
  /**
   * Zeroes the counters (health is kept).
   * @example
   * ```ts
   * cache.resetStats();
   * ```
   */
  resetStats(): void;
  /**
   * Stops timers and the bus follower; L1 is dropped. The store and bus it was given stay
   * open (close them yourself).
   * @example
   * ```ts
   * await cache.close();
   * await store.close();
   * ```
   */
  close(): Promise<void>;
}
