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
  #queue: { weight: number; start: () => void }[] = [];
  #head = 0;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(
        `@authcache/adapter-valkey: maxInFlight must be a positive integer, got ${max}`,
      );
    this.max = max;
  }

  /** Units (requests, scripts counting 2) currently sent and not yet settled. */
  get active(): number {
    return this.#active;
  }

  /** Requests waiting for a free slot. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Runs `fn` once `weight` more units fit under `max` (in arrival order); resolves or rejects
   *  as it does. glide counts a script invocation as two in-flight requests (measured: 600
   *  concurrent invokeScript calls already overflow a limit of 1000), so scripts weigh 2. */
  run<T>(fn: () => Promise<T>, weight = 1): Promise<T> {
    const w = Math.min(weight, this.max);
    if (this.#head === this.#queue.length && this.#active + w <= this.max)
      return this.#start(fn, w);
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        weight: w,
        start: () => {
          this.#start(fn, w).then(resolve, reject);
        },
      });
    });
  }

  #start<T>(fn: () => Promise<T>, weight: number): Promise<T> {
    this.#active += weight;
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      p = Promise.reject(err);
    }
    return p.finally(() => this.#release(weight));
  }

  #release(weight: number): void {
    this.#active -= weight;
    while (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head] as { weight: number; start: () => void };
      if (this.#active + next.weight > this.max) break;
      this.#queue[this.#head] = DONE;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      next.start();
    }
  }
}

const DONE = { weight: 0, start: () => {} };
