import type {
  BusState,
  InvalidationMessage,
  RevokedToken,
  Store,
  Unsubscribe,
} from "./contracts.ts";
import { createEnvelopeCodec, type Envelope, type EnvelopeCodec, type Kind } from "./envelope.ts";
import { type AuthCacheError, BusError, InvalidationError, StoreError } from "./errors.ts";
import { ExpiringSet } from "./expiring-set.ts";
import { Guard } from "./guard.ts";
import { createKeyCodec, type KeyCodec } from "./key-codec.ts";
import { L1Cache } from "./l1-cache.ts";
import { hashedTag, localSpace, localTag, userSub } from "./local-keys.ts";
import { encodeMessage, revocationEntries } from "./message.ts";
import { MissRecords } from "./miss-records.ts";
import type { ResolvedOptions } from "./options.ts";
import { SingleFlight } from "./singleflight.ts";

/** Returned by {@link Plan.accept} for a decoded value of the wrong shape. */
export const INVALID: unique symbol = Symbol("authcache.invalid");

/** Where one entry lives in L2 (built only on an L1 miss: encoding costs). */
export interface L2Plan {
  readonly key: string;
  /** The user's fence counter; the fill is a setIfFence on it. */
  readonly fenceKey: string | undefined;
  /** Roles: the team's generation counter (an entry older than it is dead). */
  readonly teamGenKey: string | undefined;
  /** Contexts with a jti and "not revoked" entries: checked against the revoked set. */
  readonly revokedMember: string | undefined;
  /** Owner indexes; the first shares the key's slot. */
  readonly owners: string[];
}

/** Everything core needs to read and fill one entry. */
export interface Plan {
  readonly kind: Kind;
  /** The entry's identity for singleflight and kept misses; its L1 key when flat. */
  readonly l1Key: string;
  /** The L1 pair space holding the entry, or -1 when it is stored under `l1Key`. */
  readonly l1Space: number;
  /** The pair (`l1Group`, `l1Sub`) in `l1Space` ("" when flat). */
  readonly l1Group: string;
  readonly l1Sub: string;
  readonly ttl: number;
  readonly email: string | undefined;
  readonly teamId: string | undefined;
  readonly jti: string | undefined;
  readonly l1Owners: readonly string[] | undefined;
  readonly l2: () => L2Plan;
  /** Turns a decoded envelope into the frozen value, or INVALID. */
  readonly accept: (envelope: Envelope) => unknown;
  /** True when the value is stored as "known absent" (a role that is "not a member"). */
  readonly absent: (value: unknown) => boolean;
}

/**
 * The stale-fill guard of one read-then-fill. It records the fence values read before the
 * loader ran, and turns stale as soon as an invalidation touching its entry is applied here
 * (locally or from the bus); a stale ticket never fills L1 or L2.
 */
export interface Ticket {
  readonly plan: Plan;
  readonly createdAt: number;
  stale: boolean;
  readOk: boolean;
  revoked: boolean;
  fence: number;
  g: number;
  tg: number | undefined;
}

export type Lookup =
  | { readonly state: "hit"; readonly value: unknown }
  | { readonly state: "revoked" }
  | { readonly state: "miss"; readonly ticket: Ticket };

/** Counters behind `stats()`. */
export interface Counters {
  hits: number;
  misses: number;
  l1Hits: number;
  l2Hits: number;
  l2Misses: number;
  l2Errors: number;
  staleFillsRejected: number;
  untrackedSetsRejected: number;
  loaderCalls: number;
  decodeErrors: number;
  invalidations: number;
  invalidationErrors: number;
  busErrors: number;
  busMessages: number;
  busResets: number;
  busUnreadable: number;
}

const zeroCounters = (): Counters => ({
  hits: 0,
  misses: 0,
  l1Hits: 0,
  l2Hits: 0,
  l2Misses: 0,
  l2Errors: 0,
  staleFillsRejected: 0,
  untrackedSetsRejected: 0,
  loaderCalls: 0,
  decodeErrors: 0,
  invalidations: 0,
  invalidationErrors: 0,
  busErrors: 0,
  busMessages: 0,
  busResets: 0,
  busUnreadable: 0,
});

/** Store calls a sync of revocations keeps in flight at once. */
const SYNC_CONCURRENCY = 16;
const TRUST_ALWAYS = 0;
const TRUST_BUS = 1;

/** One step of an invalidation's L2 work. */
export type StoreStep = (store: Store) => Promise<unknown>;

/**
 * The tiers and their rules, independent of the domain: L1 trust (bounded staleness), the
 * guarded L2 read and fenced fill, the tickets that reject stale fills, invalidation order
 * (local, L2, bus, local again) and the bus follower.
 */
export class Engine {
  readonly o: ResolvedOptions;
  readonly l1: L1Cache<unknown>;
  readonly codec: KeyCodec;
  /** Stored entries, bound to their key (authenticated with the hashIdentifiers secret). */
  readonly envelopes: EnvelopeCodec;
  readonly revoked = new ExpiringSet();
  /** Revocations heard from the log by hashed jti (`hashIdentifiers`): the jti itself is
   *  learnt on its next read here (see heardRevoked); nothing is filled for it meanwhile. */
  readonly revokedIds = new ExpiringSet();
  /** Memo of KeyCodec.id for the hashed paths (bounded: cleared when full). */
  private readonly hids = new Map<string, string>();
  /** Loads in flight, tagged with their plan: an applied invalidation detaches the ones it
   *  touches from later callers. */
  readonly flights: SingleFlight<unknown, { readonly plan: Plan }>;
  readonly storeGuard: Guard | undefined;
  readonly busGuard: Guard | undefined;
  counters: Counters = zeroCounters();
  busState: BusState | "none";
  /** When the bus last confirmed we had applied the log to its end (our clock). */
  lastCaughtUp = Number.NEGATIVE_INFINITY;
  private readonly trustMode: number;
  private readonly tickets = new Set<Ticket>();
  /** The get misses a following set is judged against (get-then-set). */
  readonly misses = new MissRecords();
  private busDroppedBase = 0;
  private unsubscribe: Unsubscribe | undefined;
  private offState: Unsubscribe | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  closed = false;

  constructor(options: ResolvedOptions) {
    this.o = options;
    this.flights = new SingleFlight(options.now);
    this.flights = new SingleFlight(options.now);
    this.l1 = new L1Cache<unknown>({ maxEntries: options.maxEntries });
    this.codec = createKeyCodec({
      prefix: options.prefix,
      hashIdentifiers: options.hashIdentifiers,
    });
    this.envelopes = createEnvelopeCodec(options.hashIdentifiers?.key);
    const { store, bus } = options;
    this.trustMode = bus !== undefined ? TRUST_BUS : TRUST_ALWAYS;
    this.busState = bus !== undefined ? "down" : "none";
    if (store !== undefined) {
      this.storeGuard = new Guard({
        target: `store ${store.name}`,
        timeoutMs: options.timeoutMs,
        breaker: options.breaker,
        now: options.now,
        logger: options.logger,
        wrap: (op, cause) => new StoreError(op, store.name, { cause }),
      });
    }
    if (bus !== undefined) {
      this.busGuard = new Guard({
        target: `bus ${bus.name}`,
        timeoutMs: options.timeoutMs,
        breaker: options.breaker,
        now: options.now,
        logger: options.logger,
        wrap: (op, cause) => new BusError(op, bus.name, { cause }),
      });
    }
    if (!options.enabled) return;
    if (bus !== undefined) this.connectBus();
    const timer = setInterval(() => this.sweep(512), 1_000);
    (timer as { unref?: () => void }).unref?.();
    this.sweepTimer = timer;
  }

  /** Whether L1 may answer now (bounded staleness). */
  trusted(now: number): boolean {
    return this.trustMode === TRUST_ALWAYS || now - this.lastCaughtUp < this.o.maxStaleMs;
  }

  /** The L1 deadline of an entry filled now: its TTL, capped at maxStaleMs when an L2 is
   *  shared but no bus tells us about other instances' invalidations. */
  l1Expiry(now: number, ttl: number): number {
    if (this.o.store !== undefined && this.o.bus === undefined && ttl > this.o.maxStaleMs) {
      return now + this.o.maxStaleMs;
    }
    return now + ttl;
  }

  /** Fills the plan's L1 entry with its TTL (capped, see l1Expiry) and owner tags. */
  setL1(plan: Plan, value: unknown, now: number): void {
    const expiresAt = this.l1Expiry(now, plan.ttl);
    const owners = this.owners(plan);
    if (plan.l1Space < 0) this.l1.set(plan.l1Key, value, expiresAt, now, owners);
    else this.l1.setPair(plan.l1Space, plan.l1Group, plan.l1Sub, value, expiresAt, now, owners);
  }

  /** Drops expired L1 entries, revocations and forgotten tickets, a bounded amount per call. */
  sweep(budget: number): void {
    const now = this.o.now();
    this.l1.sweep(now, budget);
    this.revoked.sweep(now, budget);
    this.revokedIds.sweep(now, budget);
    this.misses.sweep(now, budget);
  }

  // ---------------------------------------------------------------- reads and fills

  /** Starts tracking a read-then-fill of `plan`. */
  open(plan: Plan, now: number): Ticket {
    const t: Ticket = {
      plan,
      createdAt: now,
      stale: false,
      readOk: false,
      revoked: false,
      fence: 0,
      g: 0,
      tg: undefined,
    };
    this.tickets.add(t);
    return t;
  }

  close(ticket: Ticket): void {
    this.tickets.delete(ticket);
  }

  /** Keeps a get miss (its ticket's fences) for the set that usually follows (get-then-set);
   *  the ticket itself is done. */
  stash(ticket: Ticket): void {
    this.tickets.delete(ticket);
    this.misses.add(ticket, this.o.now());
  }

  /** Keeps a miss of the L1-only sync pair (no fences read: a set after it writes L1 only). */
  stashSync(plan: Plan, now: number): void {
    this.misses.add(
      {
        plan,
        createdAt: now,
        stale: false,
        readOk: false,
        revoked: false,
        fence: 0,
        g: 0,
        tg: undefined,
      },
      now,
    );
  }

  /** Whether an L1-only set of `l1Key` must be refused (counted), by the rule of
   *  {@link prepare}. */
  syncSetRefused(l1Key: string, now: number): boolean {
    const rule = this.misses.rule(l1Key, now);
    if (rule.verdict === "accept") return false;
    if (rule.verdict === "untracked") this.counters.untrackedSetsRejected++;
    this.counters.staleFillsRejected++;
    return true;
  }

  /** The L1-miss path: one L2 read (entry, fences, revoked-set check), write-through on hit. */
  async lookup(plan: Plan): Promise<Lookup> {
    const now = this.o.now();
    if (plan.jti !== undefined && this.heardRevoked(plan.jti, now)) {
      this.counters.hits++;
      return { state: "revoked" };
    }
    const ticket = this.open(plan, now);
    if (this.o.store === undefined) {
      this.counters.misses++;
      return { state: "miss", ticket };
    }
    const l2 = plan.l2();
    const raw = await this.read(ticket, l2);
    if (ticket.revoked) {
      this.close(ticket);
      if (plan.jti !== undefined) {
        this.revoked.add(plan.jti, this.o.now() + this.o.revocationRetentionMs, this.o.now());
      }
      this.counters.hits++;
      this.counters.l2Hits++;
      return { state: "revoked" };
    }
    if (!ticket.readOk) {
      this.counters.misses++;
      return { state: "miss", ticket };
    }
    const value = raw === undefined ? INVALID : this.decode(plan, l2.key, raw, ticket);
    if (value === INVALID) {
      this.counters.l2Misses++;
      this.counters.misses++;
      return { state: "miss", ticket };
    }
    this.counters.l2Hits++;
    this.counters.hits++;
    this.close(ticket);
    const after = this.o.now();
    if (!ticket.stale && this.trusted(after)) {
      this.setL1(plan, value, after);
    }
    return { state: "hit", value };
  }

  /** The value of an entry read from L2 under `key`, or INVALID. Anything L2 hands back that
   *  cannot be accepted is a miss, counted in decodeErrors unless it is merely dead; never a
   *  throw (whatever the payload, however deep). */
  private decode(plan: Plan, key: string, raw: string, ticket: Ticket): unknown {
    try {
      const env = this.envelopes.decode(raw, key, plan.kind);
      if (env !== undefined) {
        // Written before the last invalidateAll, or before its team's roles were invalidated:
        // dead. A generation the counters have not reached yet (read in the same store.read)
        // was not written by a fill: refused, counted.
        if (env.g < ticket.g) return INVALID;
        const t = env.t ?? 0;
        if (ticket.tg !== undefined && t < ticket.tg) return INVALID;
        if (env.g === ticket.g && (ticket.tg === undefined || t === ticket.tg)) {
          const value = plan.accept(env);
          if (value !== INVALID) return value;
        }
      }
    } catch {
      // A value that passed decoding but not its kind's checks, whatever they threw.
    }
    this.counters.decodeErrors++;
    return INVALID;
  }

  /** One guarded `store.read`; records the fence values in the ticket. Never throws. */
  async read(ticket: Ticket, l2?: L2Plan): Promise<string | undefined> {
    const store = this.o.store;
    const guard = this.storeGuard;
    if (store === undefined || guard === undefined) return undefined;
    l2 ??= ticket.plan.l2();
    const keys = [l2.key, this.codec.generation()];
    const fenceAt = l2.fenceKey === undefined ? -1 : keys.push(l2.fenceKey) - 1;
    const teamAt = l2.teamGenKey === undefined ? -1 : keys.push(l2.teamGenKey) - 1;
    const members =
      l2.revokedMember === undefined
        ? []
        : [{ set: this.codec.revoked(), member: l2.revokedMember }];
    try {
      const r = await guard.call("read", () => store.read(keys, members));
      if (!Array.isArray(r?.values) || r.values.length !== keys.length) {
        throw new TypeError("read() returned the wrong number of values");
      }
      ticket.g = counter(r.values[1]);
      if (fenceAt >= 0) ticket.fence = counter(r.values[fenceAt]);
      if (teamAt >= 0) ticket.tg = counter(r.values[teamAt]);
      ticket.revoked = members.length > 0 && r.members?.[0] === true;
      ticket.readOk = true;
      const v = r.values[0];
      return typeof v === "string" ? v : undefined;
    } catch (e) {
      this.storeFailed("read", e);
      return undefined;
    }
  }

  /**
   * The ticket of a set. After kept misses of its entry: refused (stale) if an invalidation
   * touching the entry followed any of them, else fenced by what the oldest of them read. With
   * no kept miss: fenced from now (the fences are read now). A set whose misses may have been
   * dropped (the bound) is refused if any invalidation was applied since, else L1 only.
   */
  async prepare(plan: Plan): Promise<Ticket> {
    const now = this.o.now();
    const rule = this.misses.rule(plan.l1Key, now);
    const ticket = this.open(plan, now);
    if (rule.verdict !== "accept") {
      if (rule.verdict === "untracked") this.counters.untrackedSetsRejected++;
      ticket.stale = true;
      return ticket;
    }
    const f = rule.fences;
    if (f !== undefined) {
      ticket.fence = f.fence;
      ticket.g = f.g;
      ticket.tg = f.tg;
      ticket.readOk = f.readOk && !rule.l1Only;
    } else if (!rule.l1Only) {
      await this.read(ticket);
    }
    return ticket;
  }

  /** Caches `value` under the ticket's fences, unless an invalidation overlapped. L2 first
   *  (setIfFence), then L1 only if L2 accepted it or could not be asked. Never throws. */
  async fill(ticket: Ticket, value: unknown): Promise<boolean> {
    try {
      const plan = ticket.plan;
      if (ticket.revoked) return false;
      if (ticket.stale) {
        this.counters.staleFillsRejected++;
        return false;
      }
      // Revoked here (heard by hashed jti, say) after the ticket's read: never cached.
      if (this.jtiRevoked(plan)) return false;
      const store = this.o.store;
      const guard = this.storeGuard;
      if (store !== undefined && guard !== undefined && ticket.readOk) {
        const l2 = plan.l2();
        const env = this.envelopes.encode(
          l2.key,
          plan.kind,
          ticket.g,
          value,
          plan.absent(value),
          ticket.tg,
        );
        const expiresAt = this.o.now() + plan.ttl;
        try {
          if (l2.fenceKey !== undefined) {
            const fence = { key: l2.fenceKey, value: ticket.fence };
            const written = await guard.call("setIfFence", () =>
              store.setIfFence(l2.key, env, expiresAt, fence, l2.owners),
            );
            if (written !== true) {
              this.counters.staleFillsRejected++;
              this.misses.fenceMoved(plan.l1Key);
              return false;
            }
          } else {
            await guard.call("set", () => store.set(l2.key, env, expiresAt, l2.owners));
          }
        } catch (e) {
          this.storeFailed("set", e);
        }
      }
      if (ticket.stale) {
        this.counters.staleFillsRejected++;
        return false;
      }
      const now = this.o.now();
      if (!this.trusted(now)) return false;
      this.setL1(plan, value, now);
      return true;
    } finally {
      this.close(ticket);
    }
  }

  storeFailed(operation: string, error: unknown): void {
    this.counters.l2Errors++;
    this.o.logger.debug(`store ${operation} failed; treated as a miss`, { error: String(error) });
  }

  // ---------------------------------------------------------------- invalidation

  /**
   * Applies `message` here, runs the L2 phases in order (each phase's steps concurrently),
   * publishes, and applies again (anything that raced the first pass is dropped). Rejects with
   * an InvalidationError after both L2 and the bus were attempted, if either failed.
   */
  async invalidate(
    operation: string,
    message: InvalidationMessage,
    phases: readonly (readonly StoreStep[])[],
  ): Promise<void> {
    this.counters.invalidations++;
    this.apply(message);
    const failures: AuthCacheError[] = [];
    await this.runPhases(phases, failures);
    await this.publish(this.wire(message), failures);
    this.apply(message);
    this.finish(operation, failures);
  }

  /** Bumps `gen:all` (every L2 entry written before is dead), then clears every instance's
   *  L1. Revocations are kept. */
  async invalidateAll(): Promise<void> {
    this.counters.invalidations++;
    const failures: AuthCacheError[] = [];
    this.flush();
    let generation = 0;
    const store = this.o.store;
    const guard = this.storeGuard;
    if (store !== undefined && guard !== undefined) {
      try {
        generation = await guard.call("incr", () => store.incr(this.codec.generation()));
      } catch (e) {
        this.storeFailed("incr", e);
        failures.push(asCacheError(e));
      }
    }
    const message: InvalidationMessage = { type: "all", generation };
    await this.publish(message, failures);
    this.flush();
    this.finish("invalidateAll", failures);
  }

  private async runPhases(
    phases: readonly (readonly StoreStep[])[],
    failures: AuthCacheError[],
  ): Promise<void> {
    const store = this.o.store;
    const guard = this.storeGuard;
    if (store === undefined || guard === undefined) return;
    for (const phase of phases) {
      const results = await Promise.allSettled(
        phase.map((step) => guard.call("invalidate", () => step(store))),
      );
      for (const r of results) {
        if (r.status === "rejected") {
          this.storeFailed("invalidate", r.reason);
          failures.push(asCacheError(r.reason));
        }
      }
    }
  }

  /**
   * Revocations loaded by `syncRevokedTokens`: applied here, added to L2's revoked set (16 at a
   * time), published in `revokeMany` entries (see revocationEntries), applied again. Store and
   * bus failures go to their own lists: the caller decides which ones reject.
   */
  async revokeMany(
    revocations: readonly RevokedToken[],
    storeFailures: AuthCacheError[],
    busFailures: AuthCacheError[],
  ): Promise<void> {
    const message: InvalidationMessage = { type: "revokeMany", revocations };
    this.apply(message);
    const c = this.codec;
    const set = c.revoked();
    const phases: StoreStep[][] = [];
    for (let i = 0; i < revocations.length; i += SYNC_CONCURRENCY) {
      phases.push(
        revocations.slice(i, i + SYNC_CONCURRENCY).map((r) => {
          const member = c.revokedMember(r.jti);
          return (s: Store) => s.addMember(set, member, r.expiresAt);
        }),
      );
    }
    await this.runPhases(phases, storeFailures);
    const entries = revocationEntries(this.wireRevocations(revocations), this.codec.keyId);
    for (const entry of entries) await this.publish(entry, busFailures);
    this.apply(message);
  }

  private async publish(message: InvalidationMessage, failures: AuthCacheError[]): Promise<void> {
    const bus = this.o.bus;
    const guard = this.busGuard;
    if (bus === undefined || guard === undefined) return;
    try {
      // Refused before the bus is called (and its breaker counts a failure): every follower
      // would drop an entry above MAX_LOG_ENTRY_BYTES.
      encodeMessage(message);
    } catch (e) {
      this.counters.busErrors++;
      this.o.logger.warn("bus publish refused", { error: String(e) });
      failures.push(new BusError("publish", bus.name, { cause: e }));
      return;
    }
    try {
      await guard.call("publish", () => bus.publish(message));
    } catch (e) {
      this.counters.busErrors++;
      this.o.logger.debug("bus publish failed", { error: String(e) });
      failures.push(asCacheError(e));
    }
  }

  finish(operation: string, failures: AuthCacheError[]): void {
    if (failures.length === 0) return;
    this.counters.invalidationErrors++;
    const error = new InvalidationError(operation, failures);
    this.o.logger.warn(error.message, { cause: String(error.cause) });
    throw error;
  }

  /** Applies one invalidation to L1, the revoked set and the tickets in flight. Idempotent. */
  apply(m: InvalidationMessage): void {
    if (m.type !== "all" && m.hashed !== undefined) {
      if (m.hashed === this.codec.keyId) this.applyHashed(m);
      else this.unreadable(m);
      return;
    }
    const l1 = this.l1;
    switch (m.type) {
      case "user": {
        const e = m.email;
        l1.deletePair(localSpace.USER, e, userSub.user);
        l1.deletePair(localSpace.USER, e, userSub.teams(true));
        l1.deletePair(localSpace.USER, e, userSub.teams(false));
        l1.deleteOwner(localTag.ctxOfUser(e));
        l1.deleteOwner(localTag.rolesOfUser(e));
        l1.deleteOwner(localTag.memOfUser(e));
        this.markStale((t) => t.plan.email === e);
        return;
      }
      case "team": {
        const e = m.email;
        l1.deletePair(localSpace.USER, e, userSub.teams(true));
        l1.deletePair(localSpace.USER, e, userSub.teams(false));
        l1.deleteOwner(localTag.ctxOfUser(e));
        l1.deleteOwner(localTag.rolesOfUser(e));
        l1.deleteOwner(localTag.memOfUser(e));
        this.markStale((t) => t.plan.email === e && t.plan.kind !== "user");
        return;
      }
      case "teams":
        l1.deletePair(localSpace.USER, m.email, userSub.teams(true));
        l1.deletePair(localSpace.USER, m.email, userSub.teams(false));
        this.markStale((t) => t.plan.kind === "teams" && t.plan.email === m.email);
        return;
      case "membership":
        l1.deleteOwner(localTag.memOfUser(m.email));
        this.markStale((t) => t.plan.kind === "mem" && t.plan.email === m.email);
        return;
      case "role":
        l1.deletePair(localSpace.ROLE, m.email, m.teamId);
        this.markStale(
          (t) => t.plan.kind === "role" && t.plan.email === m.email && t.plan.teamId === m.teamId,
        );
        return;
      case "teamRoles":
        l1.deleteOwner(localTag.rolesOfTeam(m.teamId));
        this.markStale((t) => t.plan.kind === "role" && t.plan.teamId === m.teamId);
        return;
      case "revoke": {
        const now = this.o.now();
        this.revoked.add(m.jti, m.expiresAt ?? now + this.o.revocationRetentionMs, now);
        l1.deleteOwner(localTag.jti(m.jti));
        this.markStale((t) => t.plan.jti === m.jti);
        return;
      }
      case "revokeMany": {
        const now = this.o.now();
        const jtis = new Set<string>();
        for (const r of m.revocations) {
          this.revoked.add(r.jti, r.expiresAt, now);
          l1.deleteOwner(localTag.jti(r.jti));
          jtis.add(r.jti);
        }
        this.markStale((t) => t.plan.jti !== undefined && jtis.has(t.plan.jti));
        return;
      }
      case "all":
        this.flush();
        return;
    }
  }

  // ---------------------------------------------------------------- hashed log entries

  /** `KeyCodec.id` (the keyed HMAC under `hashIdentifiers`), memoized: the hashed paths run
   *  on fills and on applied entries, never on an L1 hit. */
  hid(identifier: string): string {
    let h = this.hids.get(identifier);
    if (h === undefined) {
      if (this.hids.size >= 4_096) this.hids.clear();
      h = this.codec.id(identifier);
      this.hids.set(identifier, h);
    }
    return h;
  }

  /** The log form of a message: with `hashIdentifiers`, every identifier replaced by its HMAC
   *  (what L2 keys show) and the key's fingerprint added; else the message itself. */
  wire(m: InvalidationMessage): InvalidationMessage {
    const hashed = this.codec.keyId;
    if (hashed === undefined || m.type === "all") return m;
    const h = (s: string): string => this.hid(s);
    switch (m.type) {
      case "user":
      case "team":
      case "teams":
      case "membership":
        return { type: m.type, email: h(m.email), hashed };
      case "role":
        return { type: "role", email: h(m.email), teamId: h(m.teamId), hashed };
      case "teamRoles":
        return { type: "teamRoles", teamId: h(m.teamId), hashed };
      case "revoke":
        return m.expiresAt === undefined
          ? { type: "revoke", jti: h(m.jti), hashed }
          : { type: "revoke", jti: h(m.jti), expiresAt: m.expiresAt, hashed };
      case "revokeMany":
        return { type: "revokeMany", revocations: this.wireRevocations(m.revocations), hashed };
    }
  }

  private wireRevocations(revocations: readonly RevokedToken[]): readonly RevokedToken[] {
    if (this.codec.keyId === undefined) return revocations;
    return revocations.map((r) => ({ jti: this.codec.id(r.jti), expiresAt: r.expiresAt }));
  }

  /** The L1 owner tags of a plan's entry: its own, plus (with `hashIdentifiers`) the tags by
   *  hashed identifier that entries read off the log drop (see hashedTag). */
  private owners(plan: Plan): readonly string[] | undefined {
    if (this.codec.keyId === undefined) return plan.l1Owners;
    const tags = plan.l1Owners === undefined ? [] : [...plan.l1Owners];
    const e = plan.email === undefined ? undefined : this.hid(plan.email);
    if (e !== undefined) {
      tags.push(plan.kind === "user" ? hashedTag.user(e) : hashedTag.derived(e));
      if (plan.kind === "teams") tags.push(hashedTag.teams(e));
      if (plan.kind === "mem") tags.push(hashedTag.mem(e));
      if (plan.kind === "role" && plan.teamId !== undefined) {
        const t = this.hid(plan.teamId);
        tags.push(hashedTag.role(e, t), hashedTag.rolesOfTeam(t));
      }
    }
    if (plan.jti !== undefined) tags.push(hashedTag.jti(this.hid(plan.jti)));
    return tags;
  }

  /** Whether the log told us (by hashed jti) that `jti` is revoked; if so, this instance now
   *  knows the jti itself and keeps it in its revoked set. */
  heardRevoked(jti: string, now: number): boolean {
    if (this.revokedIds.size === 0) return false;
    const h = this.hid(jti);
    if (!this.revokedIds.has(h, now)) return false;
    this.revoked.add(jti, this.revokedIds.deadline(h) ?? now + this.o.revocationRetentionMs, now);
    return true;
  }

  /** A plan whose jti is known revoked here: nothing may be cached for it. */
  private jtiRevoked(plan: Plan): boolean {
    const jti = plan.jti;
    if (jti === undefined) return false;
    const now = this.o.now();
    return this.revoked.has(jti, now) || this.heardRevoked(jti, now);
  }

  /** Applies an entry whose identifiers are hashed with our key: by the hashed owner tags. */
  private applyHashed(m: Exclude<InvalidationMessage, { type: "all" }>): void {
    const l1 = this.l1;
    const h = (s: string | undefined): string | undefined =>
      s === undefined ? undefined : this.hid(s);
    switch (m.type) {
      case "user":
        l1.deleteOwner(hashedTag.user(m.email));
        l1.deleteOwner(hashedTag.derived(m.email));
        this.markStale((t) => h(t.plan.email) === m.email);
        return;
      case "team":
        l1.deleteOwner(hashedTag.derived(m.email));
        this.markStale((t) => t.plan.kind !== "user" && h(t.plan.email) === m.email);
        return;
      case "teams":
        l1.deleteOwner(hashedTag.teams(m.email));
        this.markStale((t) => t.plan.kind === "teams" && h(t.plan.email) === m.email);
        return;
      case "membership":
        l1.deleteOwner(hashedTag.mem(m.email));
        this.markStale((t) => t.plan.kind === "mem" && h(t.plan.email) === m.email);
        return;
      case "role":
        l1.deleteOwner(hashedTag.role(m.email, m.teamId));
        this.markStale(
          (t) =>
            t.plan.kind === "role" && h(t.plan.email) === m.email && h(t.plan.teamId) === m.teamId,
        );
        return;
      case "teamRoles":
        l1.deleteOwner(hashedTag.rolesOfTeam(m.teamId));
        this.markStale((t) => t.plan.kind === "role" && h(t.plan.teamId) === m.teamId);
        return;
      case "revoke":
      case "revokeMany": {
        const now = this.o.now();
        const list = m.type === "revoke" ? [m] : m.revocations;
        const ids = new Set<string>();
        for (const r of list) {
          this.revokedIds.add(r.jti, r.expiresAt ?? now + this.o.revocationRetentionMs, now);
          l1.deleteOwner(hashedTag.jti(r.jti));
          ids.add(r.jti);
        }
        this.markStale((t) => t.plan.jti !== undefined && ids.has(this.hid(t.plan.jti)));
        return;
      }
    }
  }

  /** An entry hashed with another key, or hashed while we have none (a fleet must share the
   *  option and its key): what it names cannot be found, so everything is dropped. */
  private unreadable(m: InvalidationMessage): void {
    this.counters.busUnreadable++;
    this.o.logger.warn(
      "bus: a log entry's identifiers are hashed with another key (or this cache has no " +
        "hashIdentifiers); L1 flushed. Every instance of a fleet must share hashIdentifiers.",
      { type: m.type },
    );
    this.flush();
  }

  /** Drops every L1 entry (revocations are kept) and turns every ticket stale. */
  flush(): void {
    this.l1.clear();
    this.markStale(() => true);
  }

  /** Marks matching tickets stale, the matching kept misses too, and detaches matching loads
   *  in flight from later callers. */
  private markStale(match: (t: { readonly plan: Plan }) => boolean): void {
    for (const t of this.tickets) if (!t.stale && match(t)) t.stale = true;
    this.misses.markStale(match);
    this.flights.detach(match);
  }

  // ---------------------------------------------------------------- bus follower

  private connectBus(): void {
    const bus = this.o.bus;
    if (bus === undefined || this.closed) return;
    if (this.offState === undefined) {
      try {
        this.offState = bus.onState((state) => {
          this.busState = state;
          // Down: stop trusting L1 now rather than when the last confirmation ages out.
          if (state === "down") this.lastCaughtUp = Number.NEGATIVE_INFINITY;
        });
      } catch (e) {
        this.o.logger.warn("bus onState failed", { error: String(e) });
      }
    }
    // Not through the guard: a subscribe that outlived a timeout would leave an orphan follower.
    let subscribing: Promise<Unsubscribe>;
    try {
      subscribing = bus.subscribe({
        message: (m) => {
          this.counters.busMessages++;
          this.apply(m);
        },
        reset: () => {
          this.counters.busResets++;
          this.o.logger.info("bus reset: the log moved past this instance; L1 flushed");
          this.flush();
        },
        caughtUp: (at) => {
          const now = this.o.now();
          this.lastCaughtUp = typeof at === "number" && at < now ? at : now;
          this.busState = "up";
        },
      });
    } catch (e) {
      subscribing = Promise.reject(e);
    }
    subscribing.then(
      (unsubscribe) => {
        if (this.closed) unsubscribe();
        else this.unsubscribe = unsubscribe;
      },
      (e: unknown) => {
        this.counters.busErrors++;
        this.busState = "down";
        this.o.logger.warn("bus subscribe failed; retrying", { error: String(e) });
        if (this.closed) return;
        const timer = setTimeout(() => this.connectBus(), Math.max(this.o.maxStaleMs, 250));
        (timer as { unref?: () => void }).unref?.();
        this.retryTimer = timer;
      },
    );
  }

  busDropped(): number {
    return Math.max(0, (this.o.bus?.dropped ?? 0) - this.busDroppedBase);
  }

  resetCounters(): void {
    this.counters = zeroCounters();
    this.busDroppedBase = this.o.bus?.dropped ?? 0;
  }

  /** Stops timers and the bus follower. The store and bus were given to us: not closed. */
  shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    this.offState?.();
    this.unsubscribe = undefined;
    this.offState = undefined;
    this.lastCaughtUp = Number.NEGATIVE_INFINITY;
    // The kept misses stay: a set still running when the cache closes is judged by them, and
    // the flush counts as an invalidation of every entry.
    this.flush();
  }
}

function counter(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`counter holds ${raw}`);
  return n;
}

function asCacheError(e: unknown): AuthCacheError {
  return e instanceof StoreError || e instanceof BusError
    ? e
    : new StoreError("invalidate", "unknown", { cause: e });
}
