import type { AuthCache } from "./api.ts";
import {
  canonicalTeamIds,
  checkBoolean,
  checkJti,
  checkJtiLength,
  checkLoader,
  checkString,
  jtiType,
} from "./arguments.ts";
import { Engine, type Loader } from "./engine.ts";
import {
  contextKind,
  membershipKind,
  notRevokedKind,
  roleKind,
  teamObjectsKind,
  userKind,
  userTeamsKind,
} from "./kinds.ts";
import { type AuthCacheOptions, resolveOptions } from "./options.ts";
import { type RevocationSource, syncRevocations } from "./revocation.ts";
import type { AuthCacheStats } from "./stats.ts";
import { type AuthContext, checkExpiresAt, type TeamRecord, type UserRecord } from "./values.ts";

const REVOKED: AuthContext<never> = Object.freeze({
  user: null,
  personalTeamId: null,
  isTokenRevoked: true,
});
const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined);
const RESOLVED_VOID: Promise<void> = Promise.resolve();

/**
 * Creates a cache. Throws a RangeError naming the option for invalid options.
 *
 * @example
 * ```ts
 * import { createAuthCache } from "@authcache/core";
 * import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
 *
 * const cache = createAuthCache({ store: createMemoryStore(), bus: createMemoryBus() });
 * const ctx = await cache.resolveAuthContext(email, jti, () => db.loadContext(email, jti));
 * ```
 */
export function createAuthCache<U extends object = UserRecord, T extends object = TeamRecord>(
  options?: AuthCacheOptions,
): AuthCache<U, T> {
  return new AuthCacheImpl<U, T>(new Engine(resolveOptions(options)));
}

/** The public methods: check arguments, pick the kind, and call the engine. */
class AuthCacheImpl<U extends object, T extends object> implements AuthCache<U, T> {
  private readonly enabled: boolean;
  private readonly context = contextKind<U>();
  private readonly user = userKind<U>();
  private readonly teamObjects = teamObjectsKind<T>();

  constructor(private readonly engine: Engine) {
    this.enabled = engine.enabled;
  }

  // ------------------------------------------------------------------ contexts

  getAuthContext(email: string, jti?: string | null): Promise<AuthContext<U> | undefined> {
    let j: string | undefined;
    try {
      checkString("email", email);
      j = jtiType(jti);
      if (!this.enabled) checkJtiLength(j);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled) return RESOLVED_UNDEFINED;
    // A known-revoked jti is answered REVOKED without touching L1 or L2. The jti's length is
    // checked unless L1 answers (a hit implies it, see checkJtiLength).
    return this.engine.get(this.context, email, j, REVOKED, checkJtiLength);
  }

  getAuthContextSync(email: string, jti?: string | null): AuthContext<U> | undefined {
    checkString("email", email);
    const j = jtiType(jti);
    if (!this.enabled) {
      checkJtiLength(j);
      return undefined;
    }
    // A miss is not counted: the async get that usually follows counts it.
    return this.engine.getSync(this.context, email, j, false, REVOKED, checkJtiLength);
  }

  async setAuthContext(
    email: string,
    jti: string | null | undefined,
    ctx: AuthContext<U>,
  ): Promise<void> {
    checkString("email", email);
    const j = checkJti(jti);
    const value = this.engine.copy(this.context, ctx, "ctx");
    if (!this.enabled) return;
    await this.engine.set(this.context, email, j, value);
  }

  async resolveAuthContext(
    email: string,
    jti: string | null | undefined,
    loader: Loader<AuthContext<U>>,
  ): Promise<AuthContext<U> | undefined> {
    checkString("email", email);
    const j = checkJti(jti);
    checkLoader(loader);
    if (!this.enabled) return loader();
    // A revoked token's context is answered but never cached (the revoked set is).
    return this.engine.resolve(this.context, email, j, loader, REVOKED, notRevokedContext);
  }

  // ------------------------------------------------------------------ users

  getUser(email: string): Promise<Readonly<U> | undefined> {
    try {
      checkString("email", email);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled) return RESOLVED_UNDEFINED;
    return this.engine.get(this.user, email, undefined);
  }

  async setUser(email: string, user: U): Promise<void> {
    checkString("email", email);
    const value = this.engine.copy(this.user, user, "user");
    if (!this.enabled) return;
    await this.engine.set(this.user, email, undefined, value);
  }

  async resolveUser(email: string, loader: Loader<U | null>): Promise<Readonly<U> | undefined> {
    checkString("email", email);
    checkLoader(loader);
    if (!this.enabled) return (await loader()) ?? undefined;
    return this.engine.resolve(this.user, email, undefined, loader);
  }

  // ------------------------------------------------------------------ roles

  getUserRole(email: string, teamId: string): Promise<string | null | undefined> {
    try {
      checkString("email", email);
      checkString("teamId", teamId);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled) return RESOLVED_UNDEFINED;
    return this.engine.get(roleKind, email, teamId);
  }

  async setUserRole(email: string, teamId: string, role: string | null): Promise<void> {
    checkString("email", email);
    checkString("teamId", teamId);
    const value = this.engine.copy(roleKind, role, "role");
    if (!this.enabled) return;
    await this.engine.set(roleKind, email, teamId, value);
  }

  async resolveUserRole(
    email: string,
    teamId: string,
    loader: Loader<string | null>,
  ): Promise<string | null | undefined> {
    checkString("email", email);
    checkString("teamId", teamId);
    checkLoader(loader);
    if (!this.enabled) return loader();
    return this.engine.resolve(roleKind, email, teamId, loader);
  }

  // ------------------------------------------------------------------ team lists

  getUserTeams(email: string, includePersonal: boolean): Promise<readonly string[] | undefined> {
    try {
      checkString("email", email);
      checkBoolean("includePersonal", includePersonal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled || !this.engine.teamsListEnabled) return RESOLVED_UNDEFINED;
    return this.engine.get(userTeamsKind, email, includePersonal);
  }

  async setUserTeams(
    email: string,
    includePersonal: boolean,
    teamIds: readonly string[],
  ): Promise<void> {
    checkString("email", email);
    checkBoolean("includePersonal", includePersonal);
    const value = this.engine.copy(userTeamsKind, teamIds, "teamIds");
    if (!this.enabled || !this.engine.teamsListEnabled) return;
    await this.engine.set(userTeamsKind, email, includePersonal, value);
  }

  async resolveUserTeams(
    email: string,
    includePersonal: boolean,
    loader: Loader<readonly string[]>,
  ): Promise<readonly string[] | undefined> {
    checkString("email", email);
    checkBoolean("includePersonal", includePersonal);
    checkLoader(loader);
    if (!this.enabled || !this.engine.teamsListEnabled) return loader();
    return this.engine.resolve(userTeamsKind, email, includePersonal, loader);
  }

  // ------------------------------------------------------------------ team records

  getUserTeamObjects(
    email: string,
    includePersonal: boolean,
  ): Promise<readonly Readonly<T>[] | undefined> {
    try {
      checkString("email", email);
      checkBoolean("includePersonal", includePersonal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled || !this.engine.teamsListEnabled) return RESOLVED_UNDEFINED;
    return this.engine.get(this.teamObjects, email, includePersonal);
  }

  async setUserTeamObjects(
    email: string,
    includePersonal: boolean,
    teams: readonly T[],
  ): Promise<void> {
    checkString("email", email);
    checkBoolean("includePersonal", includePersonal);
    const value = this.engine.copy(this.teamObjects, teams, "teams");
    if (!this.enabled || !this.engine.teamsListEnabled) return;
    await this.engine.set(this.teamObjects, email, includePersonal, value);
  }

  async resolveUserTeamObjects(
    email: string,
    includePersonal: boolean,
    loader: Loader<readonly T[]>,
  ): Promise<readonly Readonly<T>[] | undefined> {
    checkString("email", email);
    checkBoolean("includePersonal", includePersonal);
    checkLoader(loader);
    if (!this.enabled || !this.engine.teamsListEnabled) return loader();
    return this.engine.resolve(this.teamObjects, email, includePersonal, loader);
  }

  // ------------------------------------------------------------------ membership checks

  getTeamMembershipValid(email: string, teamIds: readonly string[]): Promise<boolean | undefined> {
    let ids: string[];
    try {
      checkString("email", email);
      ids = canonicalTeamIds(teamIds, "teamIds");
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled || ids.length === 0) return RESOLVED_UNDEFINED;
    return this.engine.get(membershipKind, email, ids);
  }

  async setTeamMembershipValid(
    email: string,
    teamIds: readonly string[],
    valid: boolean,
  ): Promise<void> {
    checkString("email", email);
    const ids = canonicalTeamIds(teamIds, "teamIds");
    checkBoolean("valid", valid);
    if (!this.enabled || ids.length === 0) return;
    await this.engine.set(membershipKind, email, ids, valid);
  }

  getTeamMembershipValidSync(email: string, teamIds: readonly string[]): boolean | undefined {
    checkString("email", email);
    const ids = canonicalTeamIds(teamIds, "teamIds");
    if (!this.enabled || ids.length === 0) return undefined;
    return this.engine.getSync(membershipKind, email, ids, true);
  }

  setTeamMembershipValidSync(email: string, teamIds: readonly string[], valid: boolean): void {
    checkString("email", email);
    const ids = canonicalTeamIds(teamIds, "teamIds");
    checkBoolean("valid", valid);
    if (!this.enabled || ids.length === 0) return;
    this.engine.setSync(membershipKind, email, ids, valid);
  }

  async resolveTeamMembershipValid(
    email: string,
    teamIds: readonly string[],
    loader: Loader<boolean>,
  ): Promise<boolean | undefined> {
    checkString("email", email);
    const ids = canonicalTeamIds(teamIds, "teamIds");
    checkLoader(loader);
    if (!this.enabled || ids.length === 0) return loader();
    return this.engine.resolve(membershipKind, email, ids, loader);
  }

  // ------------------------------------------------------------------ revocation

  async isTokenRevoked(jti: string): Promise<boolean | undefined> {
    checkString("jti", jti);
    if (!this.enabled) return undefined;
    if (this.engine.revokedHere(jti)) return true;
    if (this.engine.hit(notRevokedKind, jti, undefined)?.value === false) return false;
    return this.engine.getFromL2(notRevokedKind, jti, undefined, true);
  }

  async setNotRevoked(jti: string): Promise<void> {
    checkString("jti", jti);
    if (!this.enabled) return;
    await this.engine.set(notRevokedKind, jti, undefined, false);
  }

  async invalidateRevocation(jti: string, expiresAt?: number | null): Promise<void> {
    checkString("jti", jti);
    checkExpiresAt(expiresAt, this.engine.now());
    if (!this.enabled) return;
    const until = expiresAt ?? this.engine.retainUntil();
    await this.engine.invalidate("invalidateRevocation", {
      type: "revoke",
      jti,
      expiresAt: until,
    });
  }

  syncRevokedTokens(source: RevocationSource): Promise<number> {
    return syncRevocations(this.engine, source);
  }

  // ------------------------------------------------------------------ invalidation

  async invalidateUser(email: string): Promise<void> {
    checkString("email", email);
    if (!this.enabled) return;
    await this.engine.invalidate("invalidateUser", { type: "user", email });
  }

  async invalidateTeam(email: string): Promise<void> {
    checkString("email", email);
    if (!this.enabled) return;
    await this.engine.invalidate("invalidateTeam", { type: "team", email });
  }

  async invalidateUserRole(email: string, teamId: string): Promise<void> {
    checkString("email", email);
    checkString("teamId", teamId);
    if (!this.enabled) return;
    await this.engine.invalidate("invalidateUserRole", { type: "role", email, teamId });
  }

  async invalidateTeamRoles(teamId: string): Promise<void> {
    checkString("teamId", teamId);
    if (!this.enabled) return;
    await this.engine.invalidate("invalidateTeamRoles", { type: "teamRoles", teamId });
  }

  async invalidateUserTeams(email: string): Promise<void> {
    checkString("email", email);
    if (!this.enabled) return;
    await this.engine.invalidate("invalidateUserTeams", { type: "teams", email });
  }

  async invalidateTeamMembership(email: string): Promise<void> {
    checkString("email", email);
    if (!this.enabled) return;
    await this.engine.invalidate("invalidateTeamMembership", { type: "membership", email });
  }

  invalidateAll(): Promise<void> {
    if (!this.enabled) return RESOLVED_VOID;
    return this.engine.invalidateAll();
  }

  // ------------------------------------------------------------------ stats, lifecycle

  stats(): AuthCacheStats {
    return this.engine.stats();
  }

  resetStats(): void {
    this.engine.resetStats();
  }

  close(): Promise<void> {
    this.engine.close();
    return RESOLVED_VOID;
  }
}

const notRevokedContext = (ctx: AuthContext<object>): boolean => !ctx.isTokenRevoked;
