interface Flight<T, Tag> {
  readonly promise: Promise<T>;
  readonly tag: Tag | undefined;
  readonly startedAt: number;
}

/**
 * Runs one call per key at a time: concurrent callers of the same key share its promise. A
 * call can be detached (see {@link detach}): its callers so far still get its result, and the
 * next caller of its key starts a new call.
 */
export class SingleFlight<T, Tag = unknown> {
  private readonly flights = new Map<string, Flight<T, Tag>>();

  /** `now` dates each call for {@link detachStartedBefore} (epoch ms). */
  constructor(private readonly now: () => number = Date.now) {}

  /** Number of calls in flight that new callers can still join. */
  get size(): number {
    return this.flights.size;
  }

  /** Returns the in-flight promise for `key`, or starts `fn` (remembering `tag` for
   *  {@link detach}) and shares it until it settles or is detached. */
  run<R extends T>(key: string, fn: () => Promise<R>, tag?: Tag): Promise<R> {
    const running = this.flights.get(key);
    // One key is one entry: every call of it yields the same type.
    if (running !== undefined) return running.promise as Promise<R>;
    let p: Promise<R>;
    try {
      p = fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    const promise = p.finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    const flight: Flight<T, Tag> = { promise, tag, startedAt: this.now() };
    this.flights.set(key, flight);
    return promise;
  }

  /** Detaches the call in flight for `key` if it started before `time`. Returns whether it
   *  did. */
  detachStartedBefore(key: string, time: number): boolean {
    const f = this.flights.get(key);
    if (f === undefined || !(f.startedAt < time)) return false;
    this.flights.delete(key);
    return true;
  }

  /** Detaches every call in flight whose tag matches: later callers of its key start anew.
   *  Returns how many were detached. */
  detach(match: (tag: Tag) => boolean): number {
    let n = 0;
    for (const [key, f] of this.flights) {
      if (f.tag !== undefined && match(f.tag)) {
        this.flights.delete(key);
        n++;
      }
    }
    return n;
  }
}
