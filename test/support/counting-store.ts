import type { Store } from "@authcache/core";

/** A Store that counts the calls made to the store it wraps (what actually reached L2). */
export interface CountingStore extends Store {
  readonly calls: Record<string, number>;
  /** Total calls made, every method included. */
  readonly total: number;
}

export function countingStore(inner: Store): CountingStore {
  const calls: Record<string, number> = {};
  let total = 0;
  const wrapped = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "calls") return calls;
      if (prop === "total") return total;
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        calls[prop] = (calls[prop] ?? 0) + 1;
        total++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return wrapped as CountingStore;
}
