import type { InvalidationBus, Store } from "./contracts.ts";
import type { BreakerOptions } from "./guard.ts";
import { checkPrefix } from "./key-codec.ts";
import { defaultLogger, type Logger } from "./logger.ts";
import { MAX_LIFETIME_MS } from "./values.ts";

/** The longest a timer can wait (2^31 - 1 ms, about 24.8 days); a longer `setTimeout` fires at
 *  once. Bounds the options that time a wait: maxStaleMs, l2.timeoutMs, l2.breaker.resetMs. */
export const MAX_DELAY_MS = 2_147_483_647;

/** Lifetimes of each kind of entry, in milliseconds (all positive, at most MAX_LIFETIME_MS). */
export interface TtlOptions {
  /** User records (`getUser`). Default 60 000. */
  readonly user?: number;
  /** "Not revoked" negatives and L2-confirmed revocation answers. Default 30 000. */
  readonly revocation?: number;
  /** Team membership checks. Default 60 000. */
  readonly team?: number;
  /** Roles (`getUserRole`). Default 60 000. */
  readonly role?: number;
  /** Team lists: ids (`getUserTeams`) and records (`getUserTeamObjects`). Default 60 000. */
  readonly teamsList?: number;
}

/** Options of {@link createAuthCache}. Every one is optional. */
export interface AuthCacheOptions {
  /** The shared L2. Without one, the cache is L1 only. */
  readonly store?: Store;
  /** The invalidation log every instance follows. Without one (but with a store), L1 entries
   *  live at most `maxStaleMs`; with neither, the instance is its own authority. */
  readonly bus?: InvalidationBus;
  /** Prefix of every L2 key. Printable ASCII, no `{` `}`. Default `"authcache:"`. */
  readonly prefix?: string;
  /** When false, every get misses, every set and invalidation is a no-op and `resolve*`
   *  calls its loader each time. Default true. */
  readonly enabled?: boolean;
  /** Per-kind lifetimes in milliseconds. A context lives min(user, revocation, team). */
  readonly ttl?: TtlOptions;
  /** When false, team lists (ids and records) are never cached. Default true. */
  readonly teamsListEnabled?: boolean;
  /** Longest time (ms) any instance may serve an entry that was invalidated. Default 1 000. */
  readonly maxStaleMs?: number;
  readonly l1?: {
    /** Bound on L1 entries (positive integer). Default 10 000. */
    readonly maxEntries?: number;
  };
  /** Receives L2 and bus failures (never thrown from get and set). Default: warn and error to
   *  the console, debug and info silent. */
  readonly logger?: Logger;
  /** Fields removed from user records before anything is cached. Default: password-hash fields. */
  readonly redactFields?: readonly string[];
  /** The failure policy of every store and bus call. */
  readonly l2?: {
    /** Per-call timeout in ms. Default 250. */
    readonly timeoutMs?: number;
    /** Default `{ failures: 5, resetMs: 1000 }`. */
    readonly breaker?: Partial<BreakerOptions>;
  };
  /** Replace identifiers in L2 keys and log entries by a keyed HMAC-SHA256, and authenticate
   *  every L2 entry with an HMAC-SHA256 under a key derived from this one (an entry forged,
   *  altered or moved by anyone without it is a miss). Same key on every instance. */
  readonly hashIdentifiers?: { readonly key: string | Uint8Array };
  /** How long (ms) a revocation with no known token expiry is kept. Default 86 400 000 (24 h). */
  readonly revocationRetentionMs?: number;
  /** The clock (epoch ms). Default `Date.now`. For tests. */
  readonly now?: () => number;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  readonly store: Store | undefined;
  readonly bus: InvalidationBus | undefined;
  readonly prefix: string;
  readonly enabled: boolean;
  readonly ttl: Required<TtlOptions> & { readonly ctx: number };
  readonly teamsListEnabled: boolean;
  readonly maxStaleMs: number;
  readonly maxEntries: number;
  readonly logger: Logger;
  readonly redactFields: readonly string[];
  readonly timeoutMs: number;
  readonly breaker: BreakerOptions;
  readonly hashIdentifiers: { readonly key: string | Uint8Array } | undefined;
  readonly revocationRetentionMs: number;
  readonly now: () => number;
}

/** The default redacted fields: the usual spellings of a stored password hash. */
export const DEFAULT_REDACT_FIELDS: readonly string[] = Object.freeze([
  "password",
  "password_hash",
  "passwordHash",
  "hashed_password",
  "hashedPassword",
  "pwd_hash",
]);

const STORE_METHODS = [
  "read",
  "set",
  "setIfFence",
  "deleteMany",
  "deleteOwner",
  "incr",
  "addMember",
  "close",
] as const;
const BUS_METHODS = ["publish", "subscribe", "onState", "close"] as const;
const LOGGER_METHODS = ["debug", "info", "warn", "error"] as const;

function fail(option: string, problem: string, got: unknown): never {
  const shown = typeof got === "string" ? JSON.stringify(got) : String(got);
  throw new RangeError(`@authcache/core: option ${option} ${problem}, got ${shown}`);
}

function positive(option: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    fail(option, "must be a positive finite number", value);
  }
  if (value > max) fail(option, `must be at most ${max}`, value);
  return value;
}

function positiveInt(option: string, value: unknown, fallback: number): number {
  const n = positive(option, value, fallback, Number.MAX_SAFE_INTEGER);
  if (!Number.isSafeInteger(n)) fail(option, "must be a positive integer", value);
  return n;
}

function bool(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(option, "must be a boolean", value);
  return value;
}

function object(option: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(option, "must be an object", value);
  }
  return value as Record<string, unknown>;
}

function hasMethods(option: string, value: unknown, methods: readonly string[]): void {
  if (value === undefined) return;
  const o = object(option, value) ?? {};
  for (const m of methods) {
    if (typeof o[m] !== "function") fail(option, `must have a ${m}() method`, value);
  }
}

/** Applies defaults; throws a RangeError naming the option for anything invalid. */
export function resolveOptions(input: AuthCacheOptions | undefined): ResolvedOptions {
  const o = object("options", input) ?? {};
  hasMethods("store", o.store, STORE_METHODS);
  hasMethods("bus", o.bus, BUS_METHODS);
  hasMethods("logger", o.logger, LOGGER_METHODS);
  const prefix = o.prefix === undefined ? "authcache:" : o.prefix;
  const prefixProblem = checkPrefix(prefix);
  if (prefixProblem !== undefined) fail("prefix", prefixProblem, prefix);
  const ttlIn = object("ttl", o.ttl) ?? {};
  const ttl = {
    user: positive("ttl.user", ttlIn.user, 60_000, MAX_LIFETIME_MS),
    revocation: positive("ttl.revocation", ttlIn.revocation, 30_000, MAX_LIFETIME_MS),
    team: positive("ttl.team", ttlIn.team, 60_000, MAX_LIFETIME_MS),
    role: positive("ttl.role", ttlIn.role, 60_000, MAX_LIFETIME_MS),
    teamsList: positive("ttl.teamsList", ttlIn.teamsList, 60_000, MAX_LIFETIME_MS),
  };
  const l1 = object("l1", o.l1) ?? {};
  const l2 = object("l2", o.l2) ?? {};
  const breakerIn = object("l2.breaker", l2.breaker) ?? {};
  let redactFields = DEFAULT_REDACT_FIELDS;
  if (o.redactFields !== undefined) {
    if (!Array.isArray(o.redactFields) || o.redactFields.some((f) => typeof f !== "string")) {
      fail("redactFields", "must be an array of strings", o.redactFields);
    }
    redactFields = Object.freeze([...(o.redactFields as string[])]);
  }
  const hash = object("hashIdentifiers", o.hashIdentifiers);
  if (hash !== undefined) {
    const key = hash.key;
    const ok =
      (typeof key === "string" && key.length > 0) || (key instanceof Uint8Array && key.length > 0);
    if (!ok) fail("hashIdentifiers.key", "must be a non-empty string or Uint8Array", key);
  }
  if (o.now !== undefined && typeof o.now !== "function") fail("now", "must be a function", o.now);
  return {
    store: o.store as Store | undefined,
    bus: o.bus as InvalidationBus | undefined,
    prefix: prefix as string,
    enabled: bool("enabled", o.enabled, true),
    ttl: { ...ttl, ctx: Math.min(ttl.user, ttl.revocation, ttl.team) },
    teamsListEnabled: bool("teamsListEnabled", o.teamsListEnabled, true),
    maxStaleMs: positive("maxStaleMs", o.maxStaleMs, 1_000, MAX_DELAY_MS),
    maxEntries: positiveInt("l1.maxEntries", l1.maxEntries, 10_000),
    logger: (o.logger as Logger | undefined) ?? defaultLogger,
    redactFields,
    timeoutMs: positive("l2.timeoutMs", l2.timeoutMs, 250, MAX_DELAY_MS),
    breaker: {
      failures: positiveInt("l2.breaker.failures", breakerIn.failures, 5),
      resetMs: positive("l2.breaker.resetMs", breakerIn.resetMs, 1_000, MAX_DELAY_MS),
    },
    hashIdentifiers: hash as { key: string | Uint8Array } | undefined,
    revocationRetentionMs: positive(
      "revocationRetentionMs",
      o.revocationRetentionMs,
      86_400_000,
      MAX_LIFETIME_MS,
    ),
    now: (o.now as (() => number) | undefined) ?? Date.now,
  };
}
