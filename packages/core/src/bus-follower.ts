import type { InvalidationBus, Unsubscribe } from "./contracts.ts";
import type { Invalidator } from "./invalidator.ts";
import type { Tiers } from "./tiers.ts";

/**
 * Follows the invalidation log: applies each entry (through the Invalidator, so by the same
 * table as a local invalidation), flushes L1 on a reset, and feeds the trust clock with the
 * bus's confirmations and state. Retries a failed subscribe every max(maxStaleMs, 250 ms).
 */
export class BusFollower {
  private unsubscribe: Unsubscribe | undefined;
  private offState: Unsubscribe | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private droppedBase = 0;
  private stopped = false;

  constructor(
    private readonly bus: InvalidationBus,
    private readonly tiers: Tiers,
    private readonly invalidator: Invalidator,
  ) {}

  /** Entries the bus dropped (undecodable) since the last {@link resetDropped}. */
  get dropped(): number {
    return Math.max(0, (this.bus.dropped ?? 0) - this.droppedBase);
  }

  resetDropped(): void {
    this.droppedBase = this.bus.dropped ?? 0;
  }

  start(): void {
    const { bus, tiers } = this;
    const { counters, trust, o } = tiers;
    if (this.stopped) return;
    if (this.offState === undefined) {
      try {
        this.offState = bus.onState((state) => trust.reported(state));
      } catch (e) {
        o.logger.warn("bus onState failed", { error: String(e) });
      }
    }
    // Not through the guard: a subscribe that outlived a timeout would leave an orphan follower.
    let subscribing: Promise<Unsubscribe>;
    try {
      subscribing = bus.subscribe({
        message: (m) => {
          counters.busMessages++;
          this.invalidator.apply(m);
        },
        reset: (cause) => {
          counters.busResets++;
          o.logger.info("bus reset: the log moved past this instance; L1 flushed");
          tiers.flush();
          if (cause === "lost") this.recoverLostWrites(0);
        },
        caughtUp: (at) => trust.caughtUp(at, o.now()),
      });
    } catch (e) {
      subscribing = Promise.reject(e);
    }
    subscribing.then(
      (unsubscribe) => {
        if (this.stopped) unsubscribe();
        else this.unsubscribe = unsubscribe;
      },
      (e: unknown) => {
        counters.busErrors++;
        trust.failed();
        o.logger.warn("bus subscribe failed; retrying", { error: String(e) });
        if (this.stopped) return;
        const timer = setTimeout(() => this.start(), Math.max(o.maxStaleMs, 250));
        (timer as { unref?: () => void }).unref?.();
        this.retryTimer = timer;
      },
    );
  }

  /**
   * The bus saw the log lose entries it had acknowledged (a failover to a replica that never
   * received them): the L2 deletes, fence bumps and revocations written with them may be lost
   * too, and nobody knows which. Everything is invalidated, as `invalidateAll` does (`gen:all`
   * bumped: every L2 entry written before is dead; an "all" entry: every instance flushes),
   * retried with backoff (50 ms doubling to 1 s) until it succeeds or following stops. Each
   * instance that saw the loss does it once; the extra bumps are harmless.
   */
  private recoverLostWrites(attempt: number): void {
    if (this.stopped) return;
    const o = this.tiers.o;
    if (attempt === 0)
      o.logger.warn(
        "bus reset: the log lost acknowledged entries (failover); invalidating everything",
      );
    this.invalidator.invalidateAll().catch(() => {
      if (this.stopped) return;
      const timer = setTimeout(
        () => this.recoverLostWrites(attempt + 1),
        Math.min(50 * 2 ** attempt, 1000),
      );
      (timer as { unref?: () => void }).unref?.();
    });
  }

  /** Stops following (the bus itself was given to us: not closed). */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    this.offState?.();
    this.unsubscribe = undefined;
    this.offState = undefined;
  }
}
