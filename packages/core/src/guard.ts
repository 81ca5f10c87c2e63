import { type AuthCacheError, CircuitOpenError, TimeoutError } from "./errors.ts";
import type { Logger } from "./logger.ts";

/** Circuit-breaker settings: open after `failures` consecutive failures, probe after `resetMs`. */
export interface BreakerOptions {
  readonly failures: number;
  readonly resetMs: number;
}

export interface GuardOptions {
  /** Names the target in logs ("store memory", "bus redis"). */
  readonly target: string;
  readonly timeoutMs: number;
  readonly breaker: BreakerOptions;
  readonly now: () => number;
  readonly logger: Logger;
  /** Wraps a failure into the typed error callers see (StoreError, BusError). */
  readonly wrap: (operation: string, cause: unknown) => AuthCacheError;
}

export type BreakerState = "closed" | "open" | "half-open";

/**
 * The one place where L2 and bus failures are handled: every call gets a timeout and passes a
 * circuit breaker. While the breaker is open a call costs nothing (it is not made); after
 * `resetMs` one probe call is let through, and its outcome closes or re-opens the breaker.
 */
export class Guard {
  private stateValue: BreakerState = "closed";
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probing = false;
  /** Calls actually made. */
  calls = 0;
  /** Calls that failed or timed out. */
  failures = 0;
  /** Calls that timed out. */
  timeouts = 0;
  /** Calls refused because the breaker was open (not made). */
  shortCircuited = 0;

  constructor(private readonly options: GuardOptions) {}

  get state(): BreakerState {
    return this.stateValue;
  }

  /** True while calls are being made normally (breaker closed). */
  get healthy(): boolean {
    return this.stateValue === "closed";
  }

  /** Runs `fn` under the timeout and the breaker; rejects with a typed error. */
  call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const o = this.options;
    if (this.stateValue !== "closed") {
      const elapsed = o.now() - this.openedAt;
      if (this.stateValue === "open" && elapsed >= o.breaker.resetMs) {
        this.stateValue = "half-open";
        this.probing = false;
      }
      if (this.stateValue === "open" || this.probing) {
        this.shortCircuited++;
        return Promise.reject(o.wrap(operation, new CircuitOpenError(o.target)));
      }
      this.probing = true;
    }
    this.calls++;
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.timeouts++;
        const cause = new TimeoutError(o.timeoutMs);
        this.onFailure(operation, cause);
        reject(o.wrap(operation, cause));
      }, o.timeoutMs);
      // Not unref'd: a call that never settles must still settle at its deadline, even when
      // nothing else keeps the event loop alive (Node and Deno would otherwise drop the promise).
      p.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.onSuccess();
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.onFailure(operation, error);
          reject(o.wrap(operation, error));
        },
      );
    });
  }

  private onSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.stateValue !== "closed") {
      this.stateValue = "closed";
      this.probing = false;
      this.options.logger.warn(`${this.options.target}: recovered, circuit breaker closed`);
    }
  }

  private onFailure(operation: string, error: unknown): void {
    this.failures++;
    this.consecutiveFailures++;
    const o = this.options;
    o.logger.debug(`${o.target}: ${operation} failed`, { error: String(error) });
    if (this.stateValue === "half-open") {
      this.stateValue = "open";
      this.openedAt = o.now();
      this.probing = false;
      o.logger.warn(`${o.target}: probe failed, circuit breaker stays open`, {
        error: String(error),
      });
    } else if (this.stateValue === "closed" && this.consecutiveFailures >= o.breaker.failures) {
      this.stateValue = "open";
      this.openedAt = o.now();
      o.logger.warn(
        `${o.target}: ${this.consecutiveFailures} consecutive failures, circuit breaker open`,
        {
          error: String(error),
        },
      );
    }
  }
}
