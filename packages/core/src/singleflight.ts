/** Runs one call per key at a time: concurrent callers of the same key share its promise. */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Promise<T>>();

  /** Number of calls in flight. */
  get size(): number {
    return this.flights.size;
  }

  /** Returns the in-flight promise for `key`, or starts `fn` and shares it until it settles. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running !== undefined) return running;
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    const shared = p.finally(() => {
      if (this.flights.get(key) === shared) this.flights.delete(key);
    });
    this.flights.set(key, shared);
    return shared;
  }
}
