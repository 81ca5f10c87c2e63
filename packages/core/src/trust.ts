import type { BusState } from "./contracts.ts";

/**
 * The follower's trust clock: whether L1 may answer now (bounded staleness). With a bus, L1 is
 * trusted only while the follower's last confirmation that it had applied the log to its end
 * is younger than `maxStaleMs`; without one, always (an L2 shared without a bus caps L1
 * lifetimes at `maxStaleMs` instead, see {@link l1Expiry}).
 */
export class TrustClock {
  /** The bus as last reported, or "none" without a bus. */
  busState: BusState | "none";
  /** L1 is trusted while our clock is below this: the last confirmation that we had applied
   *  the log to its end, plus maxStaleMs (+Infinity without a bus). One comparison per hit. */
  private until: number;
  private readonly always: boolean;
  private readonly capL1: boolean;

  constructor(
    private readonly maxStaleMs: number,
    hasStore: boolean,
    hasBus: boolean,
  ) {
    this.always = !hasBus;
    this.until = hasBus ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    this.capL1 = hasStore && !hasBus;
    this.busState = hasBus ? "down" : "none";
  }

  /** Whether L1 may answer at `now`. */
  trusted(now: number): boolean {
    return now < this.until;
  }

  /** The L1 deadline of an entry filled at `now`: its TTL, capped at maxStaleMs when an L2 is
   *  shared but no bus tells us about other instances' invalidations. */
  l1Expiry(now: number, ttl: number): number {
    return this.capL1 && ttl > this.maxStaleMs ? now + this.maxStaleMs : now + ttl;
  }

  /** The follower confirmed, at epoch ms `at` (never later than our `now`). */
  caughtUp(at: number, now: number): void {
    const last = typeof at === "number" && at < now ? at : now;
    if (!this.always) this.until = last + this.maxStaleMs;
    this.busState = "up";
  }

  /** The bus reported its state; "down" stops trusting L1 now rather than when the last
   *  confirmation ages out. */
  reported(state: BusState): void {
    this.busState = state;
    if (state === "down") this.distrust();
  }

  /** Subscribing failed: down, until a confirmation. */
  failed(): void {
    this.busState = "down";
  }

  /** The cache closed: L1 is never trusted again. */
  stop(): void {
    this.distrust();
  }

  /** Until the next confirmation (never, without a bus: nothing confirms there). */
  private distrust(): void {
    if (!this.always) this.until = Number.NEGATIVE_INFINITY;
  }
}
