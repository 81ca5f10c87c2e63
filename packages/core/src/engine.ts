import { BusFollower } from "./bus-follower.ts";
import type { InvalidationMessage, RevokedToken } from "./contracts.ts";
import type { AuthCacheError } from "./errors.ts";
import { Invalidator } from "./invalidator.ts";
import type { Kind } from "./kind.ts";
import type { L1Entry } from "./l1-cache.ts";
import type { ResolvedOptions } from "./options.ts";
import { type AuthCacheStats, resetGuard, statsOf } from "./stats.ts";
import { Tiers } from "./tiers.ts";

/** A function that loads a value from the source of truth (a database query), sync or async;
 *  `undefined` (and `null`, unless the kind caches it) means "nothing to cache". */
export type Loader<T> = () => T | undefined | Promise<T | undefined>;

/** Carries a loaded value the caller must not cache out of the singleflight. */
class Uncached<V> {
  constructor(readonly value: V) {}
}

/** The resolved promise of an L1 entry's value, made on its first async hit and kept in the
 *  entry's memo, so later async hits allocate nothing. */
export function resolved<V>(entry: L1Entry<V>): Promise<V> {
  let p = entry.memo as Promise<V> | undefined;
  if (p === undefined) {
    p = Promise.resolve(entry.value);
    entry.memo = p;
  }
  return p;
}

/**
 * The two-tier cache over kinds: generic get, set, resolve and invalidate for any
 * {@link Kind}, plus stats and lifecycle. Its parts (the Tiers, the Invalidator, the
 * BusFollower) are private; the API object (auth-cache.ts) only checks arguments, picks the
 * kind, and calls these methods.
 */
export class Engine {
  readonly enabled: boolean;
  readonly teamsListEnabled: boolean;
  private readonly tiers: Tiers;
  private readonly invalidator: Invalidator;
  private readonly follower: BusFollower | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private l1EvictionsBase = 0;

  constructor(options: ResolvedOptions) {
    this.enabled = options.enabled;
    this.teamsListEnabled = options.teamsListEnabled;
    this.tiers = new Tiers(options);
    this.invalidator = new Invalidator(this.tiers);
    if (options.bus !== undefined) {
      this.follower = new BusFollower(options.bus, this.tiers, this.invalidator);
    }
    if (!options.enabled) return;
    this.follower?.start();
    const timer = setInterval(() => this.tiers.sweep(512), 1_000);
    (timer as { unref?: () => void }).unref?.();
    this.sweepTimer = timer;
  }

  /** A checked, frozen copy of a value the application gave for `kind`. */
  copy<V, P>(kind: Kind<V, P>, value: unknown, argument: string): V {
    return kind.copy(value, this.tiers.o.redactFields, argument);
  }

  // ---------------------------------------------------------------- reads

  /** The L1 entry of (`id`, `p`), counted, when L1 is trusted and holds it (the hit path). */
  hit<V, P>(kind: Kind<V, P>, id: string, p: P): L1Entry<V> | undefined {
    return this.tiers.hit(kind, id, p, this.tiers.o.now());
  }

  /** Whether `jti` is known revoked here (counted as a hit when it is). */
  revokedHere(jti: string): boolean {
    return this.revokedAt(jti, this.tiers.o.now());
  }

  private revokedAt(jti: string | undefined, now: number): boolean {
    const t = this.tiers;
    if (jti === undefined || !t.revocations.known(jti, now)) return false;
    t.counters.hits++;
    return true;
  }

  /** L1, then L2: the value, `onRevoked` for a revoked jti, or undefined (a miss, kept for
   *  the set that usually follows). With `onRevoked`, an entry whose jti is known revoked
   *  here is answered `onRevoked` before L1 is looked at. `unchecked` is an argument check
   *  an L1 hit implies (see checkJtiLength): run, and its throw a rejection, on every other
   *  answer. */
  get<V, P, R = undefined>(
    kind: Kind<V, P>,
    id: string,
    p: P,
    onRevoked?: R,
    unchecked?: (p: P) => void,
  ): Promise<V | R | undefined> {
    const t = this.tiers;
    const now = t.o.now();
    const revoked = onRevoked !== undefined && this.revokedAt(kind.jti(id, p), now);
    const h = revoked ? undefined : t.hit(kind, id, p, now);
    if (h !== undefined) return resolved(h);
    if (unchecked !== undefined) {
      try {
        unchecked(p);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return revoked ? Promise.resolve(onRevoked) : this.getFromL2(kind, id, p, onRevoked);
  }

  /** The L1-miss path of {@link get}. */
  async getFromL2<V, P, R = undefined>(
    kind: Kind<V, P>,
    id: string,
    p: P,
    onRevoked?: R,
  ): Promise<V | R | undefined> {
    const t = this.tiers;
    const r = await t.lookup(t.plan(kind, id, p));
    if (r.state === "hit") return r.value;
    if (r.state === "revoked") return onRevoked;
    t.stash(r.ticket);
    return undefined;
  }

  /** L1 only, synchronously (with `onRevoked` and `unchecked` as in {@link get}; the check
   *  throws). A miss is kept like an async one (a set after it and an invalidation is
   *  refused), and counted when `countMiss`. */
  getSync<V, P, R = undefined>(
    kind: Kind<V, P>,
    id: string,
    p: P,
    countMiss: boolean,
    onRevoked?: R,
    unchecked?: (p: P) => void,
  ): V | R | undefined {
    const t = this.tiers;
    const now = t.o.now();
    const revoked = onRevoked !== undefined && this.revokedAt(kind.jti(id, p), now);
    const h = revoked ? undefined : t.hit(kind, id, p, now);
    if (h !== undefined) return h.value;
    unchecked?.(p);
    if (revoked) return onRevoked;
    if (countMiss) t.counters.misses++;
    t.stashSync(t.plan(kind, id, p), now);
    return undefined;
  }

  // ---------------------------------------------------------------- writes

  /** Caches `value` (already copied), fenced by the kept misses of its entry or by fences
   *  read now; nothing is cached for a jti known revoked. Never throws. */
  async set<V, P>(kind: Kind<V, P>, id: string, p: P, value: V): Promise<void> {
    const t = this.tiers;
    const jti = kind.jti(id, p);
    if (jti !== undefined && t.revocations.known(jti, t.o.now())) return;
    const ticket = await t.prepare(t.plan(kind, id, p));
    await t.fill(ticket, value);
  }

  /** L1 only, synchronously, when trusted and no invalidation followed a kept miss. */
  setSync<V, P>(kind: Kind<V, P>, id: string, p: P, value: V): void {
    const t = this.tiers;
    const now = t.o.now();
    if (!t.trust.trusted(now)) return;
    const plan = t.plan(kind, id, p);
    if (t.syncSetRefused(plan, now)) return;
    t.setL1(plan, value, now);
  }

  /**
   * The cached value, or the loader's (copied, cached if no invalidation overlapped): one
   * loader call shared by concurrent callers of the entry. A loaded value for which
   * `cacheable` is false is returned but not cached.
   */
  resolve<V, P, R = undefined>(
    kind: Kind<V, P>,
    id: string,
    p: P,
    loader: Loader<V | null>,
    onRevoked?: R,
    cacheable?: (value: V) => boolean,
  ): Promise<V | R | undefined> {
    const t = this.tiers;
    const now = t.o.now();
    if (onRevoked !== undefined && this.revokedAt(kind.jti(id, p), now)) {
      return Promise.resolve(onRevoked);
    }
    const h = t.hit(kind, id, p, now);
    if (h !== undefined) return resolved(h);
    return this.load(kind, id, p, loader, onRevoked, cacheable);
  }

  /** The L1-miss path of {@link resolve}. */
  private load<V, P, R = undefined>(
    kind: Kind<V, P>,
    id: string,
    p: P,
    loader: Loader<V | null>,
    onRevoked?: R,
    cacheable?: (value: V) => boolean,
  ): Promise<V | R | undefined> {
    const t = this.tiers;
    const plan = t.plan(kind, id, p);
    // Joining a load is reading what it read when it started. An instance that cannot vouch
    // for having applied every invalidation older than maxStaleMs (its L1 is not trusted: an
    // applied one would have detached the load) does not join a load older than that.
    const now = t.o.now();
    if (!t.trust.trusted(now)) t.flights.detachStartedBefore(plan.key, now - t.o.maxStaleMs);
    const run = async (): Promise<V | R | undefined> => {
      const r = await t.lookup(plan);
      if (r.state === "hit") return r.value;
      if (r.state === "revoked") return onRevoked;
      let value: V;
      try {
        t.counters.loaderCalls++;
        const loaded = await loader();
        if (loaded === undefined || (loaded === null && !kind.nullIsValue)) {
          t.close(r.ticket);
          return undefined;
        }
        value = this.copy(kind, loaded, "loader result");
        // Answered, never cached (a revoked token's context: the revoked set is).
        if (cacheable !== undefined && !cacheable(value)) throw new Uncached(value);
      } catch (err) {
        t.close(r.ticket);
        throw err;
      }
      await t.fill(r.ticket, value);
      return value;
    };
    const shared = t.flights.run(plan.key, run, { plan });
    if (cacheable === undefined) return shared;
    return shared.catch((err: unknown) => {
      if (err instanceof Uncached) return err.value;
      throw err;
    });
  }

  // ---------------------------------------------------------------- invalidation

  /** Runs a local invalidation by its table entry (see invalidations.ts). */
  invalidate(
    operation: string,
    message: Exclude<InvalidationMessage, { type: "all" }>,
  ): Promise<void> {
    return this.invalidator.invalidate(operation, message);
  }

  invalidateAll(): Promise<void> {
    return this.invalidator.invalidateAll();
  }

  /** The deadline of a revocation with no known token expiry, revoked now. */
  retainUntil(): number {
    return this.tiers.revocations.retainUntil(this.now());
  }

  revokeMany(
    list: readonly RevokedToken[],
    storeFailures: AuthCacheError[],
    busFailures: AuthCacheError[],
  ): Promise<void> {
    return this.invalidator.revokeMany(list, storeFailures, busFailures);
  }

  finish(operation: string, failures: AuthCacheError[]): void {
    this.invalidator.finish(operation, failures);
  }

  // ---------------------------------------------------------------- stats, lifecycle

  now(): number {
    return this.tiers.o.now();
  }

  warn(message: string): void {
    this.tiers.o.logger.warn(message);
  }

  stats(): AuthCacheStats {
    const t = this.tiers;
    const now = t.o.now();
    return statsOf({
      enabled: this.enabled,
      counters: t.counters,
      storeGuard: t.storeGuard,
      busState: t.trust.busState,
      l1Trusted: this.enabled && t.trust.trusted(now),
      busDropped: this.follower?.dropped ?? 0,
      l1Size: t.l1.size,
      l1Evictions: t.l1.evictions - this.l1EvictionsBase,
      revokedCount: t.revocations.countLive(now),
    });
  }

  resetStats(): void {
    const t = this.tiers;
    t.counters.reset();
    this.follower?.resetDropped();
    this.l1EvictionsBase = t.l1.evictions;
    resetGuard(t.storeGuard);
    resetGuard(this.invalidator.busGuard);
  }

  /** Stops timers and the bus follower. The store and bus were given to us: not closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.follower?.stop();
    this.tiers.trust.stop();
    // The kept misses stay: a set still running when the cache closes is judged by them, and
    // the flush counts as an invalidation of every entry.
    this.tiers.flush();
  }
}
