import type { BusState } from "./contracts.ts";
import type { BreakerState, Guard } from "./guard.ts";

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

/** The counters behind `stats()`, reset by `resetStats()`. */
export class Counters {
  hits = 0;
  misses = 0;
  l1Hits = 0;
  l2Hits = 0;
  l2Misses = 0;
  l2Errors = 0;
  staleFillsRejected = 0;
  untrackedSetsRejected = 0;
  loaderCalls = 0;
  decodeErrors = 0;
  invalidations = 0;
  invalidationErrors = 0;
  busErrors = 0;
  busMessages = 0;
  busResets = 0;
  busUnreadable = 0;

  reset(): void {
    Object.assign(this, new Counters());
  }
}

/** What the stats read besides the counters. */
export interface StatsSources {
  readonly enabled: boolean;
  readonly counters: Counters;
  readonly storeGuard: Guard | undefined;
  readonly busState: BusState | "none";
  readonly l1Trusted: boolean;
  readonly busDropped: number;
  readonly l1Size: number;
  readonly l1Evictions: number;
  readonly revokedCount: number;
}

export function statsOf(s: StatsSources): AuthCacheStats {
  const c = s.counters;
  const total = c.hits + c.misses;
  const l2Total = c.l2Hits + c.l2Misses;
  const guard = s.storeGuard;
  return {
    enabled: s.enabled,
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
    busState: s.busState,
    l1Trusted: s.l1Trusted,
    busErrors: c.busErrors,
    busMessages: c.busMessages,
    busResets: c.busResets,
    busUnreadable: c.busUnreadable,
    busDropped: s.busDropped,
    l1Size: s.l1Size,
    l1Evictions: s.l1Evictions,
    revokedCount: s.revokedCount,
    staleFillsRejected: c.staleFillsRejected,
    untrackedSetsRejected: c.untrackedSetsRejected,
    loaderCalls: c.loaderCalls,
    decodeErrors: c.decodeErrors,
    invalidations: c.invalidations,
    invalidationErrors: c.invalidationErrors,
  };
}

/** Zeroes a guard's call counts (its breaker state is kept). */
export function resetGuard(g: Guard | undefined): void {
  if (g === undefined) return;
  g.calls = 0;
  g.failures = 0;
  g.timeouts = 0;
  g.shortCircuited = 0;
}
