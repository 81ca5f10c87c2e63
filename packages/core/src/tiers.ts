import { createEnvelopeCodec, type EnvelopeCodec } from "./envelope.ts";
import { StoreError } from "./errors.ts";
import { Guard } from "./guard.ts";
import { createKeyCodec, type KeyCodec } from "./key-codec.ts";
import {
  INVALID,
  type Invalid,
  type Kind,
  type L2Plan,
  type Plan,
  type PlanContext,
  planOf,
} from "./kind.ts";
import { tagsOf } from "./l1-address.ts";
import { L1Cache, type L1Entry } from "./l1-cache.ts";
import { L2Reader } from "./l2-read.ts";
import { MissRecords } from "./miss-records.ts";
import type { ResolvedOptions } from "./options.ts";
import { Revocations } from "./revocation.ts";
import { SingleFlight } from "./singleflight.ts";
import { Counters } from "./stats.ts";
import { TrustClock } from "./trust.ts";

/**
 * The stale-fill guard of one read-then-fill. It records the fence values read before the
 * loader ran, and turns stale as soon as an invalidation touching its entry is applied here
 * (locally or from the bus); a stale ticket never fills L1 or L2.
 */
export interface Ticket<V = unknown> {
  readonly plan: Plan<V>;
  readonly createdAt: number;
  stale: boolean;
  readOk: boolean;
  revoked: boolean;
  /** The user's fence counter, as read. */
  fence: number;
  /** The global generation (`gen:all`), as read. */
  g: number;
  /** The team generation (roles), as read. */
  tg: number | undefined;
  /** The entry as read, until {@link Tiers.lookup} takes it. */
  raw: string | undefined;
  /** Why the read failed, until it is counted. */
  readError: unknown;
}

export type Lookup<V> =
  | { readonly state: "hit"; readonly value: V }
  | { readonly state: "revoked" }
  | { readonly state: "miss"; readonly ticket: Ticket<V> };

/**
 * The two tiers and their rules, independent of the domain: L1 trust (bounded staleness), the
 * guarded L2 read and fenced fill, the tickets that reject stale fills, and dropping entries
 * by owner tag. Held by the Engine, its Invalidator and its BusFollower, never by the API.
 */
export class Tiers {
  readonly o: ResolvedOptions;
  readonly l1: L1Cache<unknown>;
  readonly codec: KeyCodec;
  /** Stored entries, bound to their key (authenticated with the hashIdentifiers secret). */
  readonly envelopes: EnvelopeCodec;
  readonly revocations: Revocations;
  readonly trust: TrustClock;
  readonly counters = new Counters();
  /** Loads in flight, tagged with their plan: an applied invalidation detaches the ones it
   *  touches from later callers. */
  readonly flights: SingleFlight<unknown, { readonly plan: Plan<unknown> }>;
  /** The get misses a following set is judged against (get-then-set). */
  readonly misses = new MissRecords();
  readonly storeGuard: Guard | undefined;
  /** The guarded L2 reads, batched per turn of the event loop. */
  private readonly reader: L2Reader | undefined;
  private readonly tickets = new Set<Ticket>();
  /** Memo of KeyCodec.id for the hashed paths (bounded: cleared when full). */
  private readonly hids = new Map<string, string>();
  private readonly planContext: PlanContext;

  constructor(options: ResolvedOptions) {
    this.o = options;
    this.flights = new SingleFlight(options.now);
    this.l1 = new L1Cache<unknown>({ maxEntries: options.maxEntries });
    this.codec = createKeyCodec({
      prefix: options.prefix,
      hashIdentifiers: options.hashIdentifiers,
    });
    this.envelopes = createEnvelopeCodec(options.hashIdentifiers?.key);
    this.revocations = new Revocations(options.revocationRetentionMs, (s) => this.hid(s));
    this.trust = new TrustClock(
      options.maxStaleMs,
      options.store !== undefined,
      options.bus !== undefined,
    );
    this.planContext = {
      codec: this.codec,
      ttl: options.ttl,
      redact: options.redactFields,
      // Under hashIdentifiers, entries also carry the tags that log entries (naming identifiers
      // only by their HMAC) find them by.
      hashedTags: this.codec.keyId === undefined ? undefined : tagsOf("h", (s) => this.hid(s)),
    };
    const store = options.store;
    if (store !== undefined) {
      this.storeGuard = new Guard({
        target: `store ${store.name}`,
        timeoutMs: options.timeoutMs,
        breaker: options.breaker,
        now: options.now,
        logger: options.logger,
        wrap: (op, cause) => new StoreError(op, store.name, { cause }),
      });
      this.reader = new L2Reader(store, this.storeGuard, this.codec);
    }
  }

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

  /** The entry (`id`, `p`) of `kind`, resolved for a read-then-fill (on an L1 miss only). */
  plan<V, P>(kind: Kind<V, P>, id: string, p: P): Plan<V> {
    return planOf(kind, id, p, this.planContext);
  }

  /** The live L1 entry of (`id`, `p`) when L1 is trusted, counted as a hit; else undefined
   *  (not counted: the L2 lookup that follows counts). The hit path: no key string built. */
  hit<V, P>(kind: Kind<V, P>, id: string, p: P, now: number): L1Entry<V> | undefined {
    if (!this.trust.trusted(now)) return undefined;
    const entry = this.l1.getPairEntry(kind.space(p), id, kind.sub(p), now);
    if (entry === undefined) return undefined;
    this.counters.hits++;
    this.counters.l1Hits++;
    // The space and pair of a kind hold values of that kind only (filled by setL1 below).
    return entry as L1Entry<V>;
  }

  /** Fills the plan's L1 entry with its TTL (capped, see TrustClock.l1Expiry) and owner tags. */
  setL1<V>(plan: Plan<V>, value: V, now: number): void {
    const a = plan.l1;
    const expiresAt = this.trust.l1Expiry(now, plan.ttl);
    this.l1.setPair(a.space, a.group, a.sub, value, expiresAt, now, plan.owners);
  }

  /** Drops expired L1 entries, revocations and kept misses, a bounded amount per call. */
  sweep(budget: number): void {
    const now = this.o.now();
    this.l1.sweep(now, budget);
    this.revocations.sweep(now, budget);
    this.misses.sweep(now, budget);
  }

  /** Starts tracking a read-then-fill of `plan`. */
  open<V>(plan: Plan<V>, now: number): Ticket<V> {
    const t = newTicket(plan, now);
    this.tickets.add(t);
    return t;
  }

  close(ticket: Ticket<unknown>): void {
    this.tickets.delete(ticket);
  }

  /** Keeps a get miss (its ticket's fences) for the set that usually follows (get-then-set);
   *  the ticket itself is done. */
  stash(ticket: Ticket<unknown>): void {
    this.tickets.delete(ticket);
    this.misses.add(ticket, this.o.now());
  }

  /** Keeps a miss of an L1-only read (no fences read: a set after it writes L1 only). */
  stashSync(plan: Plan<unknown>, now: number): void {
    this.misses.add(newTicket(plan, now), now);
  }

  /** Marks stale every ticket, kept miss and load in flight whose entry carries one of
   *  `tags` (every one when `tags` is undefined), and detaches those loads from later callers. */
  markStale(tags: ReadonlySet<string> | undefined): void {
    const match =
      tags === undefined
        ? () => true
        : (t: { readonly plan: Plan<unknown> }) => t.plan.owners.some((o) => tags.has(o));
    for (const t of this.tickets) if (!t.stale && match(t)) t.stale = true;
    this.misses.markStale(match);
    this.flights.detach(match);
  }

  /** Drops every L1 entry (revocations are kept) and turns every ticket stale. */
  flush(): void {
    this.l1.clear();
    this.markStale(undefined);
  }

  /** The L1-miss path: one L2 read (entry, fences, revoked-set check), write-through on hit. */
  async lookup<V>(plan: Plan<V>): Promise<Lookup<V>> {
    const now = this.o.now();
    const c = this.counters;
    if (plan.jti !== undefined && this.revocations.heardRevoked(plan.jti, now)) {
      c.hits++;
      return { state: "revoked" };
    }
    const ticket = this.open(plan, now);
    if (this.o.store === undefined) {
      c.misses++;
      return { state: "miss", ticket };
    }
    const l2 = plan.l2();
    await this.reader?.read(ticket, l2);
    this.readFailed(ticket);
    const raw = ticket.raw;
    ticket.raw = undefined;
    if (ticket.revoked) {
      this.close(ticket);
      if (plan.jti !== undefined) {
        const at = this.o.now();
        this.revocations.add(plan.jti, this.revocations.retainUntil(at), at);
      }
      c.hits++;
      c.l2Hits++;
      return { state: "revoked" };
    }
    if (!ticket.readOk) {
      c.misses++;
      return { state: "miss", ticket };
    }
    const value = raw === undefined ? INVALID : this.decode(plan, l2.key, raw, ticket);
    if (value === INVALID) {
      c.l2Misses++;
      c.misses++;
      return { state: "miss", ticket };
    }
    c.l2Hits++;
    c.hits++;
    this.close(ticket);
    const after = this.o.now();
    if (!ticket.stale && this.trust.trusted(after)) this.setL1(plan, value, after);
    return { state: "hit", value };
  }

  /** The value of an entry read from L2 under `key`, or INVALID. Anything L2 hands back that
   *  cannot be accepted is a miss, counted in decodeErrors unless it is merely dead; never a
   *  throw (whatever the payload, however deep). */
  private decode<V>(plan: Plan<V>, key: string, raw: string, ticket: Ticket<V>): V | Invalid {
    try {
      // Not depth-checked here: each kind's accept bounds its own walk (Kind.accept).
      const env = this.envelopes.open(raw, key, plan.tag);
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

  /** One guarded L2 read (see L2Reader: the reads of one turn share a `store.read`) into the
   *  ticket: its fences and the raw entry. Never rejects: a failure is a miss, counted. */
  private async read(ticket: Ticket<unknown>, l2: L2Plan): Promise<void> {
    await this.reader?.read(ticket, l2);
    this.readFailed(ticket);
  }

  /** Counts the failure of the ticket's read, if it failed (a miss, never a throw). */
  private readFailed(ticket: Ticket<unknown>): void {
    const e = ticket.readError;
    if (e === undefined) return;
    ticket.readError = undefined;
    this.storeFailed("read", e);
  }

  /**
   * The ticket of a set. After kept misses of its entry: refused (stale) if an invalidation
   * touching the entry followed any of them, else fenced by what the oldest of them read. With
   * no kept miss: fenced from now (the fences are read now). A set whose misses may have been
   * dropped (the bound) is refused if any invalidation was applied since, else L1 only.
   */
  async prepare<V>(plan: Plan<V>): Promise<Ticket<V>> {
    const now = this.o.now();
    const rule = this.misses.rule(plan.key, now);
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
      await this.read(ticket, plan.l2());
      ticket.raw = undefined;
    }
    return ticket;
  }

  /** Whether an L1-only set of `plan` must be refused (counted), by the rule of
   *  {@link prepare}. */
  syncSetRefused(plan: Plan<unknown>, now: number): boolean {
    const rule = this.misses.rule(plan.key, now);
    if (rule.verdict === "accept") return false;
    if (rule.verdict === "untracked") this.counters.untrackedSetsRejected++;
    this.counters.staleFillsRejected++;
    return true;
  }

  /** Caches `value` under the ticket's fences, unless an invalidation overlapped. L2 first
   *  (setIfFence), then L1 only if L2 accepted it or could not be asked. Never throws. */
  async fill<V>(ticket: Ticket<V>, value: V): Promise<boolean> {
    try {
      const plan = ticket.plan;
      if (ticket.revoked) {
        // The set's own read found the jti in L2's revoked set: learnt here too.
        if (plan.jti !== undefined) {
          const now = this.o.now();
          this.revocations.add(plan.jti, this.revocations.retainUntil(now), now);
        }
        return false;
      }
      if (ticket.stale) {
        this.counters.staleFillsRejected++;
        return false;
      }
      // Revoked here (heard by hashed jti, say) after the ticket's read: never cached.
      if (plan.jti !== undefined && this.revocations.isRevoked(plan.jti, this.o.now())) {
        return false;
      }
      const store = this.o.store;
      const guard = this.storeGuard;
      if (store !== undefined && guard !== undefined && ticket.readOk) {
        const l2 = plan.l2();
        const env = this.envelopes.encode(
          l2.key,
          plan.tag,
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
              this.misses.fenceMoved(plan.key);
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
      if (!this.trust.trusted(now)) return false;
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
}

function newTicket<V>(plan: Plan<V>, now: number): Ticket<V> {
  return {
    plan,
    createdAt: now,
    stale: false,
    readOk: false,
    revoked: false,
    fence: 0,
    g: 0,
    tg: undefined,
    raw: undefined,
    readError: undefined,
  };
}
