/**
 * Caps the requests one client has in flight. valkey-glide rejects a request outright
 * ("Reached maximum inflight requests") once its `inflightRequestsLimit` (default 1000) is
 * reached, so a burst of concurrent cache misses would turn into errors; here the excess waits
 * in a FIFO queue instead and is sent as earlier requests complete.
 */
export class InFlightLimiter {
  readonly max: number;
  #active = 0;
  // A queue with a moving head: Array#shift on a 100 000-long queue would be quadratic.
  #queue: (() => void)[] = [];
  #head = 0;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(
        `@authcache/adapter-valkey: maxInFlight must be a positive integer, got ${max}`,
      );
    this.max = max;
  }

  /** Requests currently sent and not yet settled. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a free slot. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Runs `fn` once fewer than `max` requests are in flight; resolves or rejects as it does. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active < this.max) return this.#start(fn);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(() => {
        this.#start(fn).then(resolve, reject);
      });
    });
  }

  #start<T>(fn: () => Promise<T>): Promise<T> {
    this.#active++;
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => this.#release());
  }

  #release(): void {
    this.#active--;
    if (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head] as () => void;
      this.#queue[this.#head] = noop;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      next();
    }
  }
}

const noop = () => {};
