import { createMemoryBus, createMemoryStore, type MemoryBus } from "@authcache/adapter-memory";
import {
  type AuthCache,
  type AuthCacheOptions,
  createAuthCache,
  type Store,
  silentLogger,
} from "@authcache/core";

/** A store wrapper that counts every call per method (to assert "no L2 call", not time). */
export function countingStore(
  inner: Store,
): Store & { calls: Map<string, number>; total(): number } {
  const calls = new Map<string, number>();
  const wrapper = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || typeof prop !== "string" || prop === "total") return v;
      return (...args: unknown[]) => {
        calls.set(prop, (calls.get(prop) ?? 0) + 1);
        return v.apply(target, args);
      };
    },
  });
  return Object.assign(wrapper, {
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
  });
}

/** Lets queued microtasks and zero-delay timers run (bus delivery is a microtask). */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0));
}

/** Polls `check` up to `tries` times, `stepMs` apart; returns whether it became true. */
export async function eventually(check: () => boolean, tries = 200, stepMs = 5): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

export interface Fleet {
  readonly clock: { t: number };
  readonly store: ReturnType<typeof countingStore>;
  readonly bus: MemoryBus;
  readonly views: MemoryBus[];
  readonly caches: AuthCache[];
  close(): Promise<void>;
}

/**
 * `n` caches sharing one memory store and one memory log, each on its own bus view (so one
 * can be made deaf), all on one fake clock. Resolves once every cache trusts its L1.
 */
export async function fleet(n: number, options: AuthCacheOptions = {}): Promise<Fleet> {
  const clock = { t: 1_800_000_000_000 };
  const now = () => clock.t;
  const store = countingStore(createMemoryStore({ now }));
  const bus = createMemoryBus({ confirmIntervalMs: 10, now });
  const views: MemoryBus[] = [];
  const caches: AuthCache[] = [];
  for (let i = 0; i < n; i++) {
    const view = bus.connect();
    views.push(view);
    caches.push(
      createAuthCache({
        store,
        bus: view,
        logger: silentLogger,
        now,
        maxStaleMs: 1_000,
        ...options,
      }),
    );
  }
  await eventually(() => caches.every((c) => c.stats().l1Trusted));
  return {
    clock,
    store,
    bus,
    views,
    caches,
    async close() {
      for (const c of caches) await c.close();
      for (const v of views) await v.close();
      await bus.close();
      await store.close();
    },
  };
}

export const nastyIds = [
  "a*@x.com",
  "?@x",
  "[a]@x",
  "a:b@x",
  "{t}@x",
  "ünï©ødé@x",
  "x".repeat(10_000),
  "",
  "a\\b@x",
];

export function l1Only(options: AuthCacheOptions = {}): AuthCache {
  return createAuthCache({ logger: silentLogger, ...options });
}

/** Wraps a bus view so the test sees, in order, every message delivered to the cache. */
export function recording(view: MemoryBus): {
  bus: import("@authcache/core").InvalidationBus;
  received: import("@authcache/core/adapter").InvalidationMessage[];
  resets: number;
} {
  const out = {
    received: [] as import("@authcache/core/adapter").InvalidationMessage[],
    resets: 0,
    bus: undefined as unknown as import("@authcache/core").InvalidationBus,
  };
  out.bus = {
    name: view.name,
    get dropped() {
      return view.dropped;
    },
    publish: (m) => view.publish(m),
    onState: (l) => view.onState(l),
    close: () => view.close(),
    subscribe: (h) =>
      view.subscribe({
        message: (m) => {
          out.received.push(m);
          h.message(m);
        },
        reset: () => {
          out.resets++;
          h.reset();
        },
        caughtUp: (at) => h.caughtUp(at),
      }),
  };
  return out;
}

/** Caches on one memory store and bus, all on a clock the test moves by hand (maxStaleMs
 *  1 000). `peer()` makes a cache that always hears the bus; `deafenable()` makes the one cache
 *  whose view (`viewC`) the test can deafen, with every delivery recorded in `rec`. */
export function fleetOnManualClock(): {
  clock: { t: number };
  bus: MemoryBus;
  viewC: MemoryBus;
  rec: ReturnType<typeof recording>;
  peer(): AuthCache;
  deafenable(): AuthCache;
} {
  const clock = { t: 1_800_000_000_000 };
  const now = () => clock.t;
  const store = createMemoryStore({ now });
  const bus = createMemoryBus({ confirmIntervalMs: 10, now });
  const viewC = bus.connect();
  const rec = recording(viewC);
  const opts = { store, logger: silentLogger, now, maxStaleMs: 1_000 };
  return {
    clock,
    bus,
    viewC,
    rec,
    peer: () => createAuthCache({ ...opts, bus: bus.connect() }),
    deafenable: () => createAuthCache({ ...opts, bus: rec.bus }),
  };
}
