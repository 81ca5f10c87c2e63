import type { BusState, RevokedToken, Store } from "./contracts.ts";
import { Engine, INVALID, type Plan, type StoreStep } from "./engine.ts";
import type { Envelope } from "./envelope.ts";
import type { AuthCacheError } from "./errors.ts";
import type { BreakerState } from "./guard.ts";
import type { UserOwnerKind } from "./key-codec.ts";
import type { L1Entry } from "./l1-cache.ts";
import { localKey, localSpace, localTag, NOT_REVOKED_SUB, userSub } from "./local-keys.ts";
import { MAX_IDENTIFIER_LENGTH } from "./message.ts";
import { type AuthCacheOptions, resolveOptions } from "./options.ts";
import {
  type AuthContext,
  adoptContext,
  adoptUser,
  canonicalTeamIds as canonicalIds,
  checkExpiresAt,
  copyContext,
  copyTeams,
  copyUser,
  isPlainObject,
  isStringArray,
  MAX_LIFETIME_MS,
  type RevocationEntry,
  typeError,
  type UserRecord,
} from "./values.ts";

/** Where `syncRevokedTokens` reads revocations from: any (async) iterable, or a function
 *  returning one (a database query). */
export type RevocationSource =
  | Iterable<RevocationEntry>
  | AsyncIterable<RevocationEntry>
  | (() =>
      | Iterable<RevocationEntry>
      | AsyncIterable<RevocationEntry>
      | Promise<Iterable<RevocationEntry> | AsyncIterable<RevocationEntry>>);

/** What `stats()` reports. Rates are 0 when nothing was counted. */
export interface AuthCacheStats {
  readonly enabled: boolean;
  /** Answers given from L1, the revoked set or L2. */
  readonly hits: number;
  /** Lookups no tier could answer. */
  readonly misses: number;
  readonly hitRate: number;
  readonly l1Hits: number;
  readonly l2Hits: number;
  readonly l2Misses: number;
  readonly l2HitRate: number;
  /** Store calls that failed, timed out or were refused by the open breaker. */
  readonly l2Errors: number;
  readonly l2Timeouts: number;
  /** Store calls not made because the breaker was open. */
  readonly l2ShortCircuited: number;
  /** True while a store is configured and its breaker is closed. */
  readonly l2Healthy: boolean;
  readonly l2Breaker: BreakerState | "none";
  readonly busState: BusState | "none";
  /** Whether L1 is trusted right now (the bus confirmed within maxStaleMs, or no bus). */
  readonly l1Trusted: boolean;
  readonly busErrors: number;
  readonly busMessages: number;
  readonly busResets: number;
  /** Log entries hashed with another key (or hashed while this cache has no
   *  `hashIdentifiers`): each flushed L1. Every instance of a fleet must share the option. */
  readonly busUnreadable: number;
  /** Log entries the bus dropped because they failed to decode. */
  readonly busDropped: number;
  readonly l1Size: number;
  readonly l1Evictions: number;
  /** Live revocations known to this instance. With `hashIdentifiers`, those heard from the log
   *  by hashed jti count too (one also known by its jti, as the revoking instance's own are,
   *  counts twice). */
  readonly revokedCount: number;
  /** Fills and sets not cached because an invalidation overlapped their load, or followed a
   *  get miss of the entry kept for the set (see the README), or may have (counted below too). */
  readonly staleFillsRejected: number;
  /** Sets refused because the get misses they may follow were dropped (more than 1 024
   *  entries missed within 30 s) and an invalidation was applied since. */
  readonly untrackedSetsRejected: number;
  readonly loaderCalls: number;
  /** L2 entries refused (each counted as a miss): malformed, another envelope version, kind,
   *  key or secret, a generation newer than the counters, a value of the wrong shape or
   *  nested too deep. */
  readonly decodeErrors: number;
  readonly invalidations: number;
  /** Invalidations that rejected because L2 or the bus failed. */
  readonly invalidationErrors: number;
}

/** The two-tier auth cache. Every get returns `undefined` on a miss. */
export interface AuthCache<U extends object = UserRecord> {
  /** The auth context of (email, jti); a known-revoked jti yields `{ user: null,
   *  personalTeamId: null, isTokenRevoked: true }` without touching L2. */
  getAuthContext(email: string, jti?: string | null): Promise<AuthContext<U> | undefined>;
  /** L1 and the revoked set only, synchronously; undefined when L1 cannot answer (a miss
   *  here is not counted: the async get that follows counts it). */
  getAuthContextSync(email: string, jti?: string | null): AuthContext<U> | undefined;
  setAuthContext(email: string, jti: string | null | undefined, ctx: AuthContext<U>): Promise<void>;
  getUser(email: string): Promise<Readonly<U> | undefined>;
  /** Caches a copy of `user` without the redacted fields. */
  setUser(email: string, user: U): Promise<void>;
  /** The role; `null` = not a member; `undefined` = miss. */
  getUserRole(email: string, teamId: string): Promise<string | null | undefined>;
  setUserRole(email: string, teamId: string, role: string | null): Promise<void>;
  /** The user's team ids (`[]` is a cached answer). */
  getUserTeams(email: string, includePersonal: boolean): Promise<readonly string[] | undefined>;
  setUserTeams(email: string, includePersonal: boolean, teamIds: readonly string[]): Promise<void>;
  /** Whether the user is a valid member of every team in `teamIds` (order never matters;
   *  an empty list is never cached). */
  getTeamMembershipValid(email: string, teamIds: readonly string[]): Promise<boolean | undefined>;
  setTeamMembershipValid(email: string, teamIds: readonly string[], valid: boolean): Promise<void>;
  /** L1 only, synchronous. */
  getTeamMembershipValidSync(email: string, teamIds: readonly string[]): boolean | undefined;
  /** L1 only, synchronous. */
  setTeamMembershipValidSync(email: string, teamIds: readonly string[], valid: boolean): void;
  /** true = revoked, false = known not revoked, undefined = unknown (ask the database). */
  isTokenRevoked(jti: string): Promise<boolean | undefined>;
  /** Caches "not revoked" briefly; never outvotes a revocation. */
  setNotRevoked(jti: string): Promise<void>;
  resolveAuthContext(
    email: string,
    jti: string | null | undefined,
    loader: () => Promise<AuthContext<U> | undefined> | AuthContext<U> | undefined,
  ): Promise<AuthContext<U> | undefined>;
  resolveUser(
    email: string,
    loader: () => Promise<U | undefined | null> | U | undefined | null,
  ): Promise<Readonly<U> | undefined>;
  resolveUserRole(
    email: string,
    teamId: string,
    loader: () => Promise<string | null | undefined> | string | null | undefined,
  ): Promise<string | null | undefined>;
  resolveUserTeams(
    email: string,
    includePersonal: boolean,
    loader: () => Promise<readonly string[] | undefined> | readonly string[] | undefined,
  ): Promise<readonly string[] | undefined>;
  resolveTeamMembershipValid(
    email: string,
    teamIds: readonly string[],
    loader: () => Promise<boolean | undefined> | boolean | undefined,
  ): Promise<boolean | undefined>;
  /** Drops everything cached about the user, on every instance. */
  invalidateUser(email: string): Promise<void>;
  /** Marks the jti revoked (until `expiresAt`, epoch ms, when known) on every instance; drops
   *  contexts holding it and its "not revoked" entry. */
  invalidateRevocation(jti: string, expiresAt?: number | null): Promise<void>;
  /** Drops the user's team-derived entries: roles, team lists, membership checks, contexts. */
  invalidateTeam(email: string): Promise<void>;
  invalidateUserRole(email: string, teamId: string): Promise<void>;
  /** Drops every user's role in the team. */
  invalidateTeamRoles(teamId: string): Promise<void>;
  invalidateUserTeams(email: string): Promise<void>;
  invalidateTeamMembership(email: string): Promise<void>;
  /** Clears every kind on every instance; confirmed revocations are kept. */
  invalidateAll(): Promise<void>;
  /** Loads revocations from any source into L1 and L2; returns how many were loaded. */
  syncRevokedTokens(source: RevocationSource): Promise<number>;
  stats(): AuthCacheStats;
  resetStats(): void;
  /** Stops timers and the bus follower. The store and bus it was given stay open. */
  close(): Promise<void>;
}

const REVOKED: AuthContext<never> = Object.freeze({
  user: null,
  personalTeamId: null,
  isTokenRevoked: true,
});
const RESOLVED_UNDEFINED: Promise<undefined> = Promise.resolve(undefined);
const RESOLVED_REVOKED: Promise<AuthContext<never>> = Promise.resolve(REVOKED);
const RESOLVED_VOID: Promise<void> = Promise.resolve();
const FENCE_LIFETIME_MS = 86_400_000;
/** Revocations a sync applies, writes and publishes together (a few log entries). */
const SYNC_CHUNK = 4_096;
const never = (): boolean => false;
const FLAT = -1;

/** The resolved promise of an L1 entry's value, made on its first async hit and kept in the
 *  entry's memo, so later async hits allocate nothing. */
function resolved(entry: L1Entry<unknown>): Promise<unknown> {
  let p = entry.memo as Promise<unknown> | undefined;
  if (p === undefined) {
    p = Promise.resolve(entry.value);
    entry.memo = p;
  }
  return p;
}

/** Identifiers (e-mails, jtis, team ids) are bounded so that every log entry naming one fits
 *  in MAX_LOG_ENTRY_BYTES: nothing is cached that could not be invalidated everywhere. */
function tooLong(argument: string, v: string): TypeError {
  return new TypeError(
    `@authcache/core: ${argument} must be at most ${MAX_IDENTIFIER_LENGTH} characters ` +
      `(UTF-16 code units), got ${v.length}`,
  );
}

function checkString(argument: string, v: unknown): void {
  if (typeof v !== "string") throw typeError(argument, "a string", v);
  if (v.length > MAX_IDENTIFIER_LENGTH) throw tooLong(argument, v);
}

function checkJti(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw typeError("jti", "a string, null or undefined", v);
  if (v.length > MAX_IDENTIFIER_LENGTH) throw tooLong("jti", v);
  return v;
}

/** {@link canonicalIds}, with each team id bounded like every identifier. */
function canonicalTeamIds(v: unknown, argument: string): string[] {
  const ids = canonicalIds(v, argument);
  for (const id of ids) if (id.length > MAX_IDENTIFIER_LENGTH) throw tooLong(argument, id);
  return ids;
}

function checkBoolean(argument: string, v: unknown): void {
  if (typeof v !== "boolean") throw typeError(argument, "a boolean", v);
}

function checkLoader(v: unknown): void {
  if (typeof v !== "function") throw typeError("loader", "a function", v);
}

/** Creates a cache. Throws a RangeError naming the option for invalid options. */
export function createAuthCache<U extends object = UserRecord>(
  options?: AuthCacheOptions,
): AuthCache<U> {
  return new AuthCacheImpl<U>(new Engine(resolveOptions(options)));
}

class AuthCacheImpl<U extends object> implements AuthCache<U> {
  private readonly enabled: boolean;
  private readonly redact: readonly string[];
  private l1EvictionsBase = 0;

  constructor(private readonly e: Engine) {
    this.enabled = e.o.enabled;
    this.redact = e.o.redactFields;
  }

  // ------------------------------------------------------------------ plans

  private ctxPlan(email: string, jti: string | undefined): Plan {
    const c = this.e.codec;
    const redact = this.redact;
    return {
      kind: "ctx",
      l1Key: localKey.ctx(email, jti),
      l1Space: jti === undefined ? FLAT : localSpace.CTX,
      l1Group: jti === undefined ? "" : email,
      l1Sub: jti ?? "",
      ttl: this.e.o.ttl.ctx,
      email,
      teamId: undefined,
      jti,
      l1Owners:
        jti === undefined
          ? [localTag.ctxOfUser(email)]
          : [localTag.ctxOfUser(email), localTag.jti(jti)],
      l2: () => ({
        key: c.ctx(email, jti),
        fenceKey: c.fence(email),
        teamGenKey: undefined,
        revokedMember: jti === undefined ? undefined : c.revokedMember(jti),
        owners: [c.userOwner(email, "ctx")],
      }),
      // The decoded value is a fresh object: checked, redacted and frozen in place (a throw
      // is a counted miss).
      accept: (env: Envelope) => adoptContext(env.value, redact),
      absent: never,
    };
  }

  private userPlan(email: string): Plan {
    const c = this.e.codec;
    const redact = this.redact;
    return {
      kind: "user",
      l1Key: localKey.user(email),
      l1Space: localSpace.USER,
      l1Group: email,
      l1Sub: userSub.user,
      ttl: this.e.o.ttl.user,
      email,
      teamId: undefined,
      jti: undefined,
      l1Owners: undefined,
      l2: () => ({
        key: c.user(email),
        fenceKey: c.fence(email),
        teamGenKey: undefined,
        revokedMember: undefined,
        owners: [],
      }),
      accept: (env: Envelope) => adoptUser(env.value, redact),
      absent: never,
    };
  }

  private rolePlan(email: string, teamId: string): Plan {
    const c = this.e.codec;
    return {
      kind: "role",
      l1Key: localKey.role(email, teamId),
      l1Space: localSpace.ROLE,
      l1Group: email,
      l1Sub: teamId,
      ttl: this.e.o.ttl.role,
      email,
      teamId,
      jti: undefined,
      l1Owners: [localTag.rolesOfUser(email), localTag.rolesOfTeam(teamId)],
      l2: () => ({
        key: c.role(email, teamId),
        fenceKey: c.fence(email),
        teamGenKey: c.teamGeneration(teamId),
        revokedMember: undefined,
        owners: [c.userOwner(email, "role"), c.teamOwner(teamId)],
      }),
      accept: (env: Envelope) => {
        if (env.absent) return null;
        return typeof env.value === "string" ? env.value : INVALID;
      },
      absent: (v) => v === null,
    };
  }

  private teamsPlan(email: string, includePersonal: boolean): Plan {
    const c = this.e.codec;
    return {
      kind: "teams",
      l1Key: localKey.teams(email, includePersonal),
      l1Space: localSpace.USER,
      l1Group: email,
      l1Sub: userSub.teams(includePersonal),
      ttl: this.e.o.ttl.teamsList,
      email,
      teamId: undefined,
      jti: undefined,
      l1Owners: undefined,
      l2: () => ({
        key: c.teams(email, includePersonal),
        fenceKey: c.fence(email),
        teamGenKey: undefined,
        revokedMember: undefined,
        owners: [],
      }),
      accept: (env: Envelope) => (isStringArray(env.value) ? Object.freeze(env.value) : INVALID),
      absent: never,
    };
  }

  private memPlan(email: string, teamIds: readonly string[]): Plan {
    const c = this.e.codec;
    return {
      kind: "mem",
      l1Key: localKey.mem(email, teamIds),
      l1Space: FLAT,
      l1Group: "",
      l1Sub: "",
      ttl: this.e.o.ttl.team,
      email,
      teamId: undefined,
      jti: undefined,
      l1Owners: [localTag.memOfUser(email)],
      l2: () => ({
        key: c.membership(email, teamIds),
        fenceKey: c.fence(email),
        teamGenKey: undefined,
        revokedMember: undefined,
        owners: [c.userOwner(email, "mem")],
      }),
      accept: (env: Envelope) => (typeof env.value === "boolean" ? env.value : INVALID),
      absent: never,
    };
  }

  private nrPlan(jti: string): Plan {
    const c = this.e.codec;
    return {
      kind: "nr",
      l1Key: localKey.nr(jti),
      l1Space: localSpace.JTI,
      l1Group: jti,
      l1Sub: NOT_REVOKED_SUB,
      ttl: this.e.o.ttl.revocation,
      email: undefined,
      teamId: undefined,
      jti,
      l1Owners: [localTag.jti(jti)],
      l2: () => ({
        key: c.notRevoked(jti),
        // No user to fence on; the revoked-set check on every read outvotes it instead.
        fenceKey: undefined,
        teamGenKey: undefined,
        revokedMember: c.revokedMember(jti),
        owners: [],
      }),
      accept: (env: Envelope) => (env.value === false ? false : INVALID),
      absent: never,
    };
  }

  // ------------------------------------------------------------------ generic paths

  /** L1 (when trusted), counted. Returns undefined on an L1 miss. */
  private fromL1(key: string): L1Entry<unknown> | undefined {
    const e = this.e;
    const now = e.o.now();
    if (!e.trusted(now)) return undefined;
    const v = e.l1.getEntry(key, now);
    if (v !== undefined) {
      e.counters.hits++;
      e.counters.l1Hits++;
    }
    return v;
  }

  /** {@link fromL1} for an entry stored under a pair (no key string built: the hit path). */
  private fromL1Pair(space: number, group: string, sub: string): L1Entry<unknown> | undefined {
    const e = this.e;
    const now = e.o.now();
    if (!e.trusted(now)) return undefined;
    const v = e.l1.getPairEntry(space, group, sub, now);
    if (v !== undefined) {
      e.counters.hits++;
      e.counters.l1Hits++;
    }
    return v;
  }

  /** {@link fromL1} for the entry of a plan. */
  private fromL1Plan(plan: Plan): L1Entry<unknown> | undefined {
    return plan.l1Space === FLAT
      ? this.fromL1(plan.l1Key)
      : this.fromL1Pair(plan.l1Space, plan.l1Group, plan.l1Sub);
  }

  /** The L1-miss path of a get: L2, and on a miss the ticket waits for the caller's set. */
  private async slowGet(plan: Plan, onRevoked: unknown): Promise<unknown> {
    const r = await this.e.lookup(plan);
    if (r.state === "hit") return r.value;
    if (r.state === "revoked") return onRevoked;
    this.e.stash(r.ticket);
    return undefined;
  }

  private get(plan: Plan, onRevoked?: unknown): Promise<unknown> {
    const h = this.fromL1Plan(plan);
    return h !== undefined ? resolved(h) : this.slowGet(plan, onRevoked);
  }

  private async set(plan: Plan, value: unknown): Promise<void> {
    const ticket = await this.e.prepare(plan);
    await this.e.fill(ticket, value);
  }

  /** The L1-miss path of a resolve (the caller looked L1 up first, without a plan): one loader
   *  call shared by concurrent callers, fenced. */
  private load(
    plan: Plan,
    loader: () => unknown,
    copy: (loaded: unknown) => unknown,
    onRevoked?: unknown,
  ): Promise<unknown> {
    const e = this.e;
    // Joining a load is reading what it read when it started. An instance that cannot vouch
    // for having applied every invalidation older than maxStaleMs (its L1 is not trusted: an
    // applied one would have detached the load) does not join a load older than that.
    const now = e.o.now();
    if (!e.trusted(now)) e.flights.detachStartedBefore(plan.l1Key, now - e.o.maxStaleMs);
    return e.flights.run(
      plan.l1Key,
      async () => {
        const r = await e.lookup(plan);
        if (r.state === "hit") return r.value;
        if (r.state === "revoked") return onRevoked;
        let value: unknown;
        try {
          e.counters.loaderCalls++;
          const loaded = await loader();
          if (loaded === undefined || (loaded === null && plan.kind !== "role")) {
            e.close(r.ticket);
            return undefined;
          }
          value = copy(loaded);
        } catch (err) {
          e.close(r.ticket);
          throw err;
        }
        await e.fill(r.ticket, value);
        return value;
      },
      { plan },
    );
  }

  /** Cached value, or {@link load}. */
  private resolve(
    plan: Plan,
    loader: () => unknown,
    copy: (loaded: unknown) => unknown,
    onRevoked?: unknown,
  ): Promise<unknown> {
    const cached = this.fromL1Plan(plan);
    if (cached !== undefined) return resolved(cached);
    return this.load(plan, loader, copy, onRevoked);
  }

  private invalidate(
    operation: string,
    message: Parameters<Engine["apply"]>[0],
    phases: readonly (readonly StoreStep[])[],
  ): Promise<void> {
    return this.e.invalidate(operation, message, phases);
  }

  private fenceBump(email: string): StoreStep {
    const key = this.e.codec.fence(email);
    return (s: Store) => s.incr(key, this.e.o.now() + FENCE_LIFETIME_MS);
  }

  /** The L2 phases of a per-user invalidation: bump the user's fence first (so a fill that
   *  raced it is refused), then drop the given owner indexes and keys together. */
  private userPhases(
    email: string,
    owners: readonly UserOwnerKind[],
    keys: readonly string[],
  ): StoreStep[][] {
    const c = this.e.codec;
    const drops: StoreStep[] = owners.map((kind) => {
      const owner = c.userOwner(email, kind);
      return (s: Store) => s.deleteOwner(owner);
    });
    if (keys.length > 0) drops.push((s: Store) => s.deleteMany([...keys]));
    return [[this.fenceBump(email)], drops];
  }

  // ------------------------------------------------------------------ contexts

  getAuthContext(email: string, jti?: string | null): Promise<AuthContext<U> | undefined> {
    let j: string | undefined;
    try {
      checkString("email", email);
      j = checkJti(jti);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled) return RESOLVED_UNDEFINED;
    const e = this.e;
    const now = e.o.now();
    if (j !== undefined && e.revoked.size > 0 && e.revoked.has(j, now)) {
      e.counters.hits++;
      return RESOLVED_REVOKED;
    }
    if (e.trusted(now)) {
      // With a jti: the pair (email, jti), no key string built. Without: a flat key.
      const h =
        j === undefined
          ? e.l1.getEntry(localKey.ctx(email, undefined), now)
          : e.l1.getPairEntry(localSpace.CTX, email, j, now);
      if (h !== undefined) {
        e.counters.hits++;
        e.counters.l1Hits++;
        return resolved(h) as Promise<AuthContext<U>>;
      }
    }
    return this.slowGet(this.ctxPlan(email, j), REVOKED) as Promise<AuthContext<U> | undefined>;
  }

  getAuthContextSync(email: string, jti?: string | null): AuthContext<U> | undefined {
    checkString("email", email);
    const j = checkJti(jti);
    if (!this.enabled) return undefined;
    const e = this.e;
    const now = e.o.now();
    if (j !== undefined && e.revoked.size > 0 && e.revoked.has(j, now)) {
      e.counters.hits++;
      return REVOKED;
    }
    if (!e.trusted(now)) return this.syncCtxMiss(email, j, now);
    const h =
      j === undefined
        ? e.l1.get(localKey.ctx(email, undefined), now)
        : e.l1.getPair(localSpace.CTX, email, j, now);
    if (h === undefined) return this.syncCtxMiss(email, j, now);
    e.counters.hits++;
    e.counters.l1Hits++;
    return h as AuthContext<U>;
  }

  /** A getAuthContextSync miss, kept like an async one (a set after it and an invalidation is
   *  refused); not counted: the async get that usually follows counts it. */
  private syncCtxMiss(email: string, jti: string | undefined, now: number): undefined {
    this.e.stashSync(this.ctxPlan(email, jti), now);
    return undefined;
  }

  async setAuthContext(
    email: string,
    jti: string | null | undefined,
    ctx: AuthContext<U>,
  ): Promise<void> {
    checkString("email", email);
    const j = checkJti(jti);
    const value = copyContext(ctx, this.redact, "ctx");
    if (!this.enabled) return;
    if (j !== undefined && this.e.revoked.has(j, this.e.o.now())) return;
    await this.set(this.ctxPlan(email, j), value);
  }

  async resolveAuthContext(
    email: string,
    jti: string | null | undefined,
    loader: () => Promise<AuthContext<U> | undefined> | AuthContext<U> | undefined,
  ): Promise<AuthContext<U> | undefined> {
    checkString("email", email);
    const j = checkJti(jti);
    checkLoader(loader);
    if (!this.enabled) return loader();
    const e = this.e;
    if (j !== undefined && e.revoked.has(j, e.o.now())) {
      e.counters.hits++;
      return REVOKED;
    }
    const cached =
      j === undefined
        ? this.fromL1(localKey.ctx(email, undefined))
        : this.fromL1Pair(localSpace.CTX, email, j);
    if (cached !== undefined) return cached.value as AuthContext<U>;
    const redact = this.redact;
    return (await this.load(
      this.ctxPlan(email, j),
      loader,
      (loaded) => {
        const ctx = copyContext(loaded, redact, "loader result");
        // A revoked token is answered but never cached as a context (the revoked set is).
        if (ctx.isTokenRevoked) throw new RevokedResult(ctx);
        return ctx;
      },
      REVOKED,
    ).catch((err: unknown) => {
      if (err instanceof RevokedResult) return err.ctx;
      throw err;
    })) as AuthContext<U> | undefined;
  }

  // ------------------------------------------------------------------ users

  getUser(email: string): Promise<Readonly<U> | undefined> {
    try {
      checkString("email", email);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled) return RESOLVED_UNDEFINED;
    const h = this.fromL1Pair(localSpace.USER, email, userSub.user);
    if (h !== undefined) return resolved(h) as Promise<Readonly<U>>;
    return this.slowGet(this.userPlan(email), undefined) as Promise<Readonly<U> | undefined>;
  }

  async setUser(email: string, user: U): Promise<void> {
    checkString("email", email);
    const value = copyUser(user, this.redact, "user");
    if (!this.enabled) return;
    await this.set(this.userPlan(email), value);
  }

  async resolveUser(
    email: string,
    loader: () => Promise<U | undefined | null> | U | undefined | null,
  ): Promise<Readonly<U> | undefined> {
    checkString("email", email);
    checkLoader(loader);
    if (!this.enabled) return (await loader()) ?? undefined;
    const cached = this.fromL1Pair(localSpace.USER, email, userSub.user);
    if (cached !== undefined) return cached.value as Readonly<U>;
    const redact = this.redact;
    return (await this.load(this.userPlan(email), loader, (loaded) =>
      copyUser(loaded, redact, "loader result"),
    )) as Readonly<U> | undefined;
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
    const h = this.fromL1Pair(localSpace.ROLE, email, teamId);
    if (h !== undefined) return resolved(h) as Promise<string | null>;
    return this.slowGet(this.rolePlan(email, teamId), undefined) as Promise<
      string | null | undefined
    >;
  }

  async setUserRole(email: string, teamId: string, role: string | null): Promise<void> {
    checkString("email", email);
    checkString("teamId", teamId);
    if (role !== null && typeof role !== "string")
      throw typeError("role", "a string or null", role);
    if (!this.enabled) return;
    await this.set(this.rolePlan(email, teamId), role);
  }

  async resolveUserRole(
    email: string,
    teamId: string,
    loader: () => Promise<string | null | undefined> | string | null | undefined,
  ): Promise<string | null | undefined> {
    checkString("email", email);
    checkString("teamId", teamId);
    checkLoader(loader);
    if (!this.enabled) return loader();
    const cached = this.fromL1Pair(localSpace.ROLE, email, teamId);
    if (cached !== undefined) return cached.value as string | null;
    return (await this.load(this.rolePlan(email, teamId), loader, (loaded) => {
      if (loaded !== null && typeof loaded !== "string") {
        throw typeError("loader result", "a string or null", loaded);
      }
      return loaded;
    })) as string | null | undefined;
  }

  // ------------------------------------------------------------------ team lists

  getUserTeams(email: string, includePersonal: boolean): Promise<readonly string[] | undefined> {
    try {
      checkString("email", email);
      checkBoolean("includePersonal", includePersonal);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.enabled || !this.e.o.teamsListEnabled) return RESOLVED_UNDEFINED;
    const h = this.fromL1Pair(localSpace.USER, email, userSub.teams(includePersonal));
    if (h !== undefined) return resolved(h) as Promise<readonly string[]>;
    return this.slowGet(this.teamsPlan(email, includePersonal), undefined) as Promise<
      readonly string[] | undefined
    >;
  }

  async setUserTeams(
    email: string,
    includePersonal: boolean,
    teamIds: readonly string[],
  ): Promise<void> {
    checkString("email", email);
    checkBoolean("includePersonal", includePersonal);
    const value = copyTeams(teamIds, "teamIds");
    if (!this.enabled || !this.e.o.teamsListEnabled) return;
    await this.set(this.teamsPlan(email, includePersonal), value);
  }

  async resolveUserTeams(
    email: string,
    includePersonal: boolean,
    loader: () => Promise<readonly string[] | undefined> | readonly string[] | undefined,
  ): Promise<readonly string[] | undefined> {
    checkString("email", email);
    checkBoolean("includePersonal", includePersonal);
    checkLoader(loader);
    if (!this.enabled || !this.e.o.teamsListEnabled) return loader();
    return (await this.resolve(this.teamsPlan(email, includePersonal), loader, (loaded) =>
      copyTeams(loaded, "loader result"),
    )) as readonly string[] | undefined;
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
    return this.get(this.memPlan(email, ids)) as Promise<boolean | undefined>;
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
    await this.set(this.memPlan(email, ids), valid);
  }

  getTeamMembershipValidSync(email: string, teamIds: readonly string[]): boolean | undefined {
    checkString("email", email);
    const ids = canonicalTeamIds(teamIds, "teamIds");
    if (!this.enabled || ids.length === 0) return undefined;
    const v = this.fromL1(localKey.mem(email, ids))?.value as boolean | undefined;
    if (v === undefined) {
      this.e.counters.misses++;
      // Kept like an async miss: a set after it and an invalidation is refused.
      this.e.stashSync(this.memPlan(email, ids), this.e.o.now());
    }
    return v;
  }

  setTeamMembershipValidSync(email: string, teamIds: readonly string[], valid: boolean): void {
    checkString("email", email);
    const ids = canonicalTeamIds(teamIds, "teamIds");
    checkBoolean("valid", valid);
    if (!this.enabled || ids.length === 0) return;
    const e = this.e;
    const key = localKey.mem(email, ids);
    const now = e.o.now();
    if (!e.trusted(now)) return;
    if (e.syncSetRefused(key, now)) return;
    // Through the plan, so the entry gets every owner tag a log entry may drop it by.
    e.setL1(this.memPlan(email, ids), valid, now);
  }

  async resolveTeamMembershipValid(
    email: string,
    teamIds: readonly string[],
    loader: () => Promise<boolean | undefined> | boolean | undefined,
  ): Promise<boolean | undefined> {
    checkString("email", email);
    const ids = canonicalTeamIds(teamIds, "teamIds");
    checkLoader(loader);
    if (!this.enabled || ids.length === 0) return loader();
    return (await this.resolve(this.memPlan(email, ids), loader, (loaded) => {
      if (typeof loaded !== "boolean") throw typeError("loader result", "a boolean", loaded);
      return loaded;
    })) as boolean | undefined;
  }

  // ------------------------------------------------------------------ revocation

  async isTokenRevoked(jti: string): Promise<boolean | undefined> {
    checkString("jti", jti);
    if (!this.enabled) return undefined;
    const e = this.e;
    if (e.revoked.has(jti, e.o.now())) {
      e.counters.hits++;
      return true;
    }
    if (this.fromL1Pair(localSpace.JTI, jti, NOT_REVOKED_SUB)?.value === false) return false;
    const answer = await this.slowGet(this.nrPlan(jti), true);
    return answer === true || answer === false ? answer : undefined;
  }

  async setNotRevoked(jti: string): Promise<void> {
    checkString("jti", jti);
    if (!this.enabled) return;
    const e = this.e;
    if (e.revoked.has(jti, e.o.now())) return;
    const ticket = await e.prepare(this.nrPlan(jti));
    if (ticket.revoked) {
      e.close(ticket);
      const now = e.o.now();
      e.revoked.add(jti, now + e.o.revocationRetentionMs, now);
      return;
    }
    if (e.revoked.has(jti, e.o.now())) {
      e.close(ticket);
      return;
    }
    await e.fill(ticket, false);
  }

  async invalidateRevocation(jti: string, expiresAt?: number | null): Promise<void> {
    checkString("jti", jti);
    checkExpiresAt(expiresAt, this.e.o.now());
    if (!this.enabled) return;
    const e = this.e;
    const c = e.codec;
    const deadline = expiresAt ?? e.o.now() + e.o.revocationRetentionMs;
    const revokedSet = c.revoked();
    const member = c.revokedMember(jti);
    const nr = c.notRevoked(jti);
    await this.invalidate("invalidateRevocation", { type: "revoke", jti, expiresAt: deadline }, [
      [(s) => s.addMember(revokedSet, member, deadline), (s) => s.deleteMany([nr])],
    ]);
  }

  async syncRevokedTokens(source: RevocationSource): Promise<number> {
    let iterable: unknown = source;
    if (typeof source === "function") iterable = await source();
    const isIterable =
      typeof iterable === "object" &&
      iterable !== null &&
      (Symbol.iterator in iterable || Symbol.asyncIterator in iterable);
    if (!isIterable) throw typeError("source", "an iterable of revocations or a function", source);
    const e = this.e;
    let count = 0;
    let chunk: RevokedToken[] = [];
    const storeFailures: AuthCacheError[] = [];
    const busFailures: AuthCacheError[] = [];
    for await (const entry of iterable as AsyncIterable<unknown>) {
      const parsed = parseRevocation(entry);
      if (parsed === undefined) {
        e.o.logger.warn(
          "syncRevokedTokens: skipped an entry that is not a jti or { jti, expiresAt }",
        );
        continue;
      }
      if (parsed.jti.length > MAX_IDENTIFIER_LENGTH) {
        e.o.logger.warn(
          `syncRevokedTokens: skipped a jti longer than ${MAX_IDENTIFIER_LENGTH} characters`,
        );
        continue;
      }
      if (!this.enabled) {
        count++;
        continue;
      }
      const now = e.o.now();
      // Clamped, never refused: a bulk source's absurd expiry still revokes (see checkExpiresAt).
      const deadline = Math.min(
        parsed.expiresAt ?? now + e.o.revocationRetentionMs,
        now + MAX_LIFETIME_MS,
      );
      if (!(deadline > now)) continue;
      count++;
      chunk.push({ jti: parsed.jti, expiresAt: deadline });
      if (chunk.length >= SYNC_CHUNK) {
        await e.revokeMany(chunk, storeFailures, busFailures);
        chunk = [];
      }
    }
    if (chunk.length > 0) await e.revokeMany(chunk, storeFailures, busFailures);
    // A store failure is counted and logged: the revoked sets and the log still carry them. A
    // bus failure rejects: other instances may not have them; calling again is safe.
    if (busFailures.length > 0) e.finish("syncRevokedTokens", [...busFailures, ...storeFailures]);
    return count;
  }

  // ------------------------------------------------------------------ invalidation

  async invalidateUser(email: string): Promise<void> {
    checkString("email", email);
    if (!this.enabled) return;
    const c = this.e.codec;
    const keys = [c.user(email), c.teams(email, true), c.teams(email, false)];
    await this.invalidate(
      "invalidateUser",
      { type: "user", email },
      this.userPhases(email, ["ctx", "role", "mem"], keys),
    );
  }

  async invalidateTeam(email: string): Promise<void> {
    checkString("email", email);
    if (!this.enabled) return;
    const c = this.e.codec;
    const keys = [c.teams(email, true), c.teams(email, false)];
    await this.invalidate(
      "invalidateTeam",
      { type: "team", email },
      this.userPhases(email, ["ctx", "role", "mem"], keys),
    );
  }

  async invalidateUserRole(email: string, teamId: string): Promise<void> {
    checkString("email", email);
    checkString("teamId", teamId);
    if (!this.enabled) return;
    const key = this.e.codec.role(email, teamId);
    await this.invalidate(
      "invalidateUserRole",
      { type: "role", email, teamId },
      this.userPhases(email, [], [key]),
    );
  }

  async invalidateTeamRoles(teamId: string): Promise<void> {
    checkString("teamId", teamId);
    if (!this.enabled) return;
    const c = this.e.codec;
    const gen = c.teamGeneration(teamId);
    const owner = c.teamOwner(teamId);
    await this.invalidate("invalidateTeamRoles", { type: "teamRoles", teamId }, [
      [(s) => s.incr(gen, this.e.o.now() + FENCE_LIFETIME_MS)],
      [(s) => s.deleteOwner(owner)],
    ]);
  }

  async invalidateUserTeams(email: string): Promise<void> {
    checkString("email", email);
    if (!this.enabled) return;
    const c = this.e.codec;
    const keys = [c.teams(email, true), c.teams(email, false)];
    await this.invalidate(
      "invalidateUserTeams",
      { type: "teams", email },
      this.userPhases(email, [], keys),
    );
  }

  async invalidateTeamMembership(email: string): Promise<void> {
    checkString("email", email);
    if (!this.enabled) return;
    await this.invalidate(
      "invalidateTeamMembership",
      { type: "membership", email },
      this.userPhases(email, ["mem"], []),
    );
  }

  invalidateAll(): Promise<void> {
    if (!this.enabled) return RESOLVED_VOID;
    return this.e.invalidateAll();
  }

  // ------------------------------------------------------------------ stats, lifecycle

  stats(): AuthCacheStats {
    const e = this.e;
    const c = e.counters;
    const now = e.o.now();
    const total = c.hits + c.misses;
    const l2Total = c.l2Hits + c.l2Misses;
    const guard = e.storeGuard;
    return {
      enabled: this.enabled,
      hits: c.hits,
      misses: c.misses,
      hitRate: total === 0 ? 0 : c.hits / total,
      l1Hits: c.l1Hits,
      l2Hits: c.l2Hits,
      l2Misses: c.l2Misses,
      l2HitRate: l2Total === 0 ? 0 : c.l2Hits / l2Total,
      l2Errors: c.l2Errors,
      l2Timeouts: guard?.timeouts ?? 0,
      l2ShortCircuited: guard?.shortCircuited ?? 0,
      l2Healthy: guard?.healthy ?? false,
      l2Breaker: guard?.state ?? "none",
      busState: e.busState,
      l1Trusted: this.enabled && e.trusted(now),
      busErrors: c.busErrors,
      busMessages: c.busMessages,
      busResets: c.busResets,
      busUnreadable: c.busUnreadable,
      busDropped: e.busDropped(),
      l1Size: e.l1.size,
      l1Evictions: e.l1.evictions - this.l1EvictionsBase,
      revokedCount: e.revoked.countLive(now) + e.revokedIds.countLive(now),
      staleFillsRejected: c.staleFillsRejected,
      untrackedSetsRejected: c.untrackedSetsRejected,
      loaderCalls: c.loaderCalls,
      decodeErrors: c.decodeErrors,
      invalidations: c.invalidations,
      invalidationErrors: c.invalidationErrors,
    };
  }

  resetStats(): void {
    const e = this.e;
    e.resetCounters();
    this.l1EvictionsBase = e.l1.evictions;
    for (const g of [e.storeGuard, e.busGuard]) {
      if (g === undefined) continue;
      g.calls = 0;
      g.failures = 0;
      g.timeouts = 0;
      g.shortCircuited = 0;
    }
  }

  close(): Promise<void> {
    this.e.shutdown();
    return RESOLVED_VOID;
  }
}

/** Carries a loaded revoked context out of the singleflight without caching it. */
class RevokedResult {
  constructor(readonly ctx: AuthContext<UserRecord>) {}
}

function parseRevocation(entry: unknown): { jti: string; expiresAt?: number } | undefined {
  if (typeof entry === "string") return { jti: entry };
  if (!isPlainObject(entry) || typeof entry.jti !== "string") return undefined;
  const exp = entry.expiresAt;
  if (exp === undefined || exp === null) return { jti: entry.jti };
  if (typeof exp !== "number" || !Number.isFinite(exp)) return undefined;
  return { jti: entry.jti, expiresAt: exp };
}
