import type { InvalidationMessage, RevokedToken } from "./contracts.ts";
import { type AuthCacheError, BusError, InvalidationError, StoreError } from "./errors.ts";
import { Guard } from "./guard.ts";
import {
  type BoundInvalidation,
  invalidationOf,
  revocations,
  type StoreStep,
} from "./invalidations.ts";
import { hashedMessageTags, localTags } from "./l1-address.ts";
import { encodeMessage, revocationEntries } from "./message.ts";
import type { Tiers } from "./tiers.ts";

/** Failed ordered publishes, in a row, each followed by a clean store write and publish, after
 *  which an instance pauses the ordered publish. */
export const ORDERED_MISMATCHES = 3;
/** The first pause of the ordered publish; each pause in a row doubles it, up to
 *  {@link ORDERED_PAUSE_MAX_MS}; a success starts over. A bus that can never make the store's
 *  writes (an ACL, a proxy) costs one failed try per pause; a transient failure costs a pause. */
export const ORDERED_PAUSE_MS = 60_000;
export const ORDERED_PAUSE_MAX_MS = 15 * 60_000;

/**
 * Applies invalidations to this instance (from `invalidate*` and from the log) and sends them
 * to L2 and the log, by the table of invalidations.ts. Order of a local invalidation: apply
 * here, L2 phases, publish, apply again (anything that raced the first pass is dropped). When
 * the bus can carry the L2 writes ahead of its entry (`publishAfter`, same keyspace as the
 * store), the L2 phases and the publish are that one call; if it fails, the two steps follow.
 */
export class Invalidator {
  readonly busGuard: Guard | undefined;
  /** The ordered publish is paused for this instance until then (see orderedFallback). */
  private orderedPausedUntil = Number.NEGATIVE_INFINITY;
  private orderedPauses = 0;
  private orderedMismatches = 0;

  constructor(private readonly tiers: Tiers) {
    const { bus, timeoutMs, breaker, now, logger } = tiers.o;
    if (bus !== undefined) {
      this.busGuard = new Guard({
        target: `bus ${bus.name}`,
        timeoutMs,
        breaker,
        now,
        logger,
        wrap: (op, cause) => new BusError(op, bus.name, { cause }),
      });
    }
  }

  /** Applies one message to L1, the revoked sets and the reads in flight. Idempotent. */
  apply(m: InvalidationMessage): void {
    if (m.type === "all") {
      this.tiers.flush();
      return;
    }
    this.applyEntry(invalidationOf(m));
  }

  /** `apply` of a message whose table entry is at hand. */
  private applyEntry(entry: BoundInvalidation): void {
    const tiers = this.tiers;
    const m = entry.message;
    const now = tiers.o.now();
    const retainUntil = tiers.revocations.retainUntil(now);
    let tags: string[];
    if (m.hashed === undefined) {
      tags = entry.tags(localTags);
      for (const r of entry.revokes(retainUntil)) tiers.revocations.add(r.jti, r.expiresAt, now);
    } else if (m.hashed === tiers.codec.keyId) {
      // Identifiers hashed with our key: found by the tags by hashed identifier.
      tags = entry.tags(hashedMessageTags);
      for (const r of entry.revokes(retainUntil)) {
        tiers.revocations.addHeard(r.jti, r.expiresAt, now);
      }
    } else {
      this.unreadable(m);
      return;
    }
    for (const tag of tags) tiers.l1.deleteOwner(tag);
    tiers.markStale(new Set(tags));
  }

  /**
   * A local invalidation: applies `message` here, runs its L2 phases in order (each phase's
   * steps concurrently), publishes, and applies again. Rejects with an InvalidationError after
   * both L2 and the bus were attempted, if either failed.
   */
  async invalidate(
    operation: string,
    message: Exclude<InvalidationMessage, { type: "all" }>,
  ): Promise<void> {
    const tiers = this.tiers;
    tiers.counters.invalidations++;
    const entry = invalidationOf(message);
    const failures: AuthCacheError[] = [];
    const now = tiers.o.now();
    const wire = this.wire(entry);
    // The ordered publish is sent before the local apply: nothing else runs until the first
    // await below, so this is still "apply here" first, minus its time on the way to the log.
    const sending = this.publishAfter(entry, wire, now);
    this.applyEntry(entry);
    const ordered = await sending;
    if (ordered !== "done") {
      await this.runPhases(entry.l2(tiers.codec, now), failures);
      await this.publish(wire, failures);
      if (ordered === "failed") this.orderedFallback(failures.length === 0, tiers.o.now());
    }
    this.applyEntry(entry);
    this.finish(operation, failures);
  }

  /**
   * The ordered publish (`InvalidationBus.publishAfter`): the L2 writes and the append in one
   * round trip, when the bus declares the store's keyspace and the invalidation's L2 work is
   * writes a bus can carry. "done" when it succeeded; "unused" when it does not apply; "failed"
   * when it was tried and rejected. Unless "done", the caller takes today's path (the writes
   * through the store, then publish), which reports failures as without it.
   */
  private async publishAfter(
    entry: BoundInvalidation,
    wire: InvalidationMessage,
    now: number,
  ): Promise<"done" | "unused" | "failed"> {
    const tiers = this.tiers;
    const { bus, store } = tiers.o;
    const guard = this.busGuard;
    const publishAfter = bus?.publishAfter;
    if (
      now < this.orderedPausedUntil ||
      bus === undefined ||
      publishAfter === undefined ||
      guard === undefined ||
      store?.keyspace === undefined ||
      store.keyspace !== bus.keyspace
    ) {
      return "unused";
    }
    const writes = entry.writes(tiers.codec, now);
    if (writes === undefined) return "unused";
    // An entry too large for the log is refused by the bus (encodeMessage) before anything is
    // sent, and then refused again, and reported, by today's path. (The kinds with `writes`
    // name one identifier: their entries are far below MAX_LOG_ENTRY_BYTES.)
    try {
      await guard.call("publish", () => publishAfter.call(bus, writes, wire));
      this.orderedMismatches = 0;
      this.orderedPauses = 0;
      return "done";
    } catch (e) {
      tiers.o.logger.debug("bus ordered publish failed; store writes, then publish", {
        error: String(e),
      });
      return "failed";
    }
  }

  /** After a failed ordered publish, today's path ran: `clean` when it had no failure. After
   *  {@link ORDERED_MISMATCHES} such in a row (the bus cannot make the store's writes: a proxy
   *  that splits keys, an ACL; or failures that happened to pass), this instance pauses the
   *  ordered publish ({@link ORDERED_PAUSE_MS}, doubling while it keeps failing). */
  private orderedFallback(clean: boolean, now: number): void {
    if (!clean) {
      this.orderedMismatches = 0;
      return;
    }
    if (++this.orderedMismatches < ORDERED_MISMATCHES) return;
    this.orderedMismatches = 0;
    const pause = Math.min(ORDERED_PAUSE_MS * 2 ** this.orderedPauses, ORDERED_PAUSE_MAX_MS);
    this.orderedPauses++;
    this.orderedPausedUntil = now + pause;
    this.tiers.o.logger.warn(
      "bus: publishAfter failed where the store writes and publish succeeded, " +
        `${ORDERED_MISMATCHES} times in a row; writing L2 and publishing separately for ` +
        `${Math.round(pause / 1000)} s`,
    );
  }

  /** Bumps `gen:all` (every L2 entry written before is dead), then clears every instance's
   *  L1. Revocations are kept. */
  async invalidateAll(): Promise<void> {
    const tiers = this.tiers;
    tiers.counters.invalidations++;
    const failures: AuthCacheError[] = [];
    tiers.flush();
    let generation = 0;
    const store = tiers.o.store;
    const guard = tiers.storeGuard;
    if (store !== undefined && guard !== undefined) {
      try {
        generation = await guard.call("incr", () => store.incr(tiers.codec.generation()));
      } catch (e) {
        tiers.storeFailed("incr", e);
        failures.push(asCacheError(e));
      }
    }
    await this.publish({ type: "all", generation }, failures);
    tiers.flush();
    this.finish("invalidateAll", failures);
  }

  /**
   * Revocations loaded by `syncRevokedTokens`: applied here, added to L2's revoked set, published
   * in `revokeMany` entries of at most REVOCATION_BATCH_BYTES (see revocationEntries), applied
   * again. Store and bus failures go to their own lists: the caller decides which reject.
   */
  async revokeMany(
    list: readonly RevokedToken[],
    storeFailures: AuthCacheError[],
    busFailures: AuthCacheError[],
  ): Promise<void> {
    const tiers = this.tiers;
    const message: InvalidationMessage = { type: "revokeMany", revocations: list };
    this.apply(message);
    await this.runPhases(revocations.l2(message, tiers.codec, tiers.o.now()), storeFailures);
    const keyId = tiers.codec.keyId;
    const wired =
      keyId === undefined
        ? list
        : list.map((r) => ({ jti: tiers.codec.id(r.jti), expiresAt: r.expiresAt }));
    for (const entry of revocationEntries(wired, keyId)) await this.publish(entry, busFailures);
    this.apply(message);
  }

  /** Rejects with an InvalidationError naming `operation` when anything failed (counted). */
  finish(operation: string, failures: AuthCacheError[]): void {
    if (failures.length === 0) return;
    const tiers = this.tiers;
    tiers.counters.invalidationErrors++;
    const error = new InvalidationError(operation, failures);
    tiers.o.logger.warn(error.message, { cause: String(error.cause) });
    throw error;
  }

  /** The log form of a message: under `hashIdentifiers`, every identifier replaced by its HMAC
   *  (what L2 keys show) and the key's fingerprint added; else the message itself. */
  private wire(entry: BoundInvalidation): InvalidationMessage {
    const keyId = this.tiers.codec.keyId;
    if (keyId === undefined) return entry.message;
    return entry.hashed((s) => this.tiers.hid(s), keyId);
  }

  private async runPhases(
    phases: readonly (readonly StoreStep[])[],
    failures: AuthCacheError[],
  ): Promise<void> {
    const tiers = this.tiers;
    const store = tiers.o.store;
    const guard = tiers.storeGuard;
    if (store === undefined || guard === undefined) return;
    for (const phase of phases) {
      const results = await Promise.allSettled(
        phase.map((step) => guard.call("invalidate", () => step(store))),
      );
      for (const r of results) {
        if (r.status === "rejected") {
          tiers.storeFailed("invalidate", r.reason);
          failures.push(asCacheError(r.reason));
        }
      }
    }
  }

  private async publish(message: InvalidationMessage, failures: AuthCacheError[]): Promise<void> {
    const tiers = this.tiers;
    const bus = tiers.o.bus;
    const guard = this.busGuard;
    if (bus === undefined || guard === undefined) return;
    try {
      // Refused before the bus is called (and its breaker counts a failure): every follower
      // would drop an entry above MAX_LOG_ENTRY_BYTES.
      encodeMessage(message);
    } catch (e) {
      tiers.counters.busErrors++;
      tiers.o.logger.warn("bus publish refused", { error: String(e) });
      failures.push(new BusError("publish", bus.name, { cause: e }));
      return;
    }
    try {
      await guard.call("publish", () => bus.publish(message));
    } catch (e) {
      tiers.counters.busErrors++;
      tiers.o.logger.debug("bus publish failed", { error: String(e) });
      failures.push(asCacheError(e));
    }
  }

  /** An entry hashed with another key, or hashed while we have none (a fleet must share the
   *  option and its key): what it names cannot be found, so everything is dropped. */
  private unreadable(m: InvalidationMessage): void {
    const tiers = this.tiers;
    tiers.counters.busUnreadable++;
    tiers.o.logger.warn(
      "bus: a log entry's identifiers are hashed with another key (or this cache has no " +
        "hashIdentifiers); L1 flushed. Every instance of a fleet must share hashIdentifiers.",
      { type: m.type },
    );
    tiers.flush();
  }
}

function asCacheError(e: unknown): AuthCacheError {
  return e instanceof StoreError || e instanceof BusError
    ? e
    : new StoreError("invalidate", "unknown", { cause: e });
}
