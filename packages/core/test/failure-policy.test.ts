import { describe, expect, test } from "bun:test";
import {
  BusError,
  createAuthCache,
  InvalidationError,
  StoreError,
  silentLogger,
  TimeoutError,
} from "../src/index.ts";
import { HangingStore, ManualBus, MapStore } from "./support/map-store.ts";

function setup(timeoutMs = 30) {
  const clock = { t: 1_000_000 };
  const inner = new MapStore(() => clock.t);
  const store = new HangingStore(inner);
  const cache = createAuthCache({
    store,
    logger: silentLogger,
    now: () => clock.t,
    l2: { timeoutMs, breaker: { failures: 3, resetMs: 5_000 } },
  });
  return { clock, inner, store, cache };
}

describe("failure policy", () => {
  test("with an L2 whose calls hang, a read settles as a miss (timeout), counted", async () => {
    const { store, cache } = setup();
    store.hang = true;
    expect(await cache.getUser("a@x")).toBeUndefined();
    const s = cache.stats();
    expect(s.l2Errors).toBe(1);
    expect(s.l2Timeouts).toBe(1);
    expect(s.misses).toBe(1);
    await cache.close();
  });

  test("once the breaker is open, a read costs no L2 call at all", async () => {
    const { store, cache } = setup();
    store.hang = true;
    for (let i = 0; i < 3; i++) await cache.getUser(`u${i}@x`);
    expect(cache.stats().l2Breaker).toBe("open");
    expect(cache.stats().l2Healthy).toBe(false);
    const callsWhenOpened = store.calls;
    for (let i = 0; i < 200; i++) {
      expect(await cache.getUser(`v${i}@x`)).toBeUndefined();
      expect(await cache.isTokenRevoked(`j${i}`)).toBeUndefined();
    }
    expect(store.calls).toBe(callsWhenOpened);
    expect(cache.stats().l2ShortCircuited).toBe(400);
    await cache.close();
  });

  test("errors never escape get/set, L1 still fills, and L2 is used again once it recovers", async () => {
    const { clock, store, cache } = setup();
    store.hang = true;
    await cache.setUser("a@x", { name: "A" });
    await cache.setUserRole("a@x", "t1", "admin");
    // Served from L1 though L2 never answered.
    expect(await cache.getUser("a@x")).toEqual({ name: "A" });
    expect(await cache.getUserRole("a@x", "t1")).toBe("admin");
    for (let i = 0; i < 3; i++) await cache.getUser(`x${i}@x`);
    expect(cache.stats().l2Breaker).toBe("open");
    store.hang = false;
    clock.t += 5_000;
    const before = store.calls;
    await cache.setUser("b@x", { name: "B" });
    expect(store.calls).toBeGreaterThan(before);
    expect(cache.stats().l2Breaker).toBe("closed");
    // A second cache on the same L2 sees what the first wrote after recovery.
    const other = createAuthCache({ store, logger: silentLogger, now: () => clock.t });
    expect(await other.getUser("b@x")).toEqual({ name: "B" });
    await cache.close();
    await other.close();
  });

  test("revocation is fail-closed: unknown when L2 cannot answer", async () => {
    const { store, cache } = setup();
    await cache.setNotRevoked("j1");
    const fresh = createAuthCache({ store, logger: silentLogger, l2: { timeoutMs: 30 } });
    store.hang = true;
    expect(await fresh.isTokenRevoked("j1")).toBeUndefined();
    store.hang = false;
    expect(await fresh.isTokenRevoked("j1")).toBe(false);
    await cache.close();
    await fresh.close();
  });

  test("an invalidation whose L2 fails still applies locally, tries the bus, and rejects typed", async () => {
    const { store, cache: _unused } = setup();
    await _unused.close();
    const bus = new ManualBus();
    const cache = createAuthCache({
      store,
      bus,
      logger: silentLogger,
      l2: { timeoutMs: 30, breaker: { failures: 100 } },
    });
    bus.confirm(Date.now());
    await cache.setUser("a@x", { n: 1 });
    expect(await cache.getUser("a@x")).toEqual({ n: 1 });
    store.hang = true;
    const err = await cache.invalidateUser("a@x").catch((e) => e);
    expect(err).toBeInstanceOf(InvalidationError);
    expect(err.cause).toBeInstanceOf(StoreError);
    expect(err.cause.cause).toBeInstanceOf(TimeoutError);
    // The bus was still attempted, and the local L1 no longer serves the user.
    expect(bus.log).toEqual([{ type: "user", email: "a@x" }]);
    expect(cache.getAuthContextSync("a@x")).toBeUndefined();
    store.hang = false;
    // L2 still has it: that is exactly the failure the rejection reported.
    expect(await cache.getUser("a@x")).toEqual({ n: 1 });
    bus.failPublish = true;
    const busErr = await cache.invalidateUserTeams("a@x").catch((e) => e);
    expect(busErr).toBeInstanceOf(InvalidationError);
    expect(busErr.failures).toHaveLength(1);
    expect(cache.stats().invalidationErrors).toBe(2);
    await cache.close();
  });

  test("an InvalidationError names each failing tier once, with a count when it failed more than once", async () => {
    const direct = new InvalidationError("invalidateUser", [
      new StoreError("invalidate", "redis"),
      new StoreError("invalidate", "redis"),
      new BusError("publish", "redis"),
      new StoreError("invalidate", "redis"),
      new StoreError("bumpFence", "redis"),
    ]);
    expect(direct.message).toBe(
      "@authcache/core: invalidateUser did not reach the store (invalidate 3 times, bumpFence) and the bus (publish)",
    );
    expect(direct.failures).toHaveLength(5);

    // Through the cache: a user invalidation with L2 and the bus both down.
    const store = new HangingStore(new MapStore(() => Date.now()));
    const bus = new ManualBus();
    const cache = createAuthCache({
      store,
      bus,
      logger: silentLogger,
      l2: { timeoutMs: 30, breaker: { failures: 100 } },
    });
    bus.confirm(Date.now());
    store.hang = true;
    bus.failPublish = true;
    const err = await cache.invalidateUser("a@x").catch((e) => e);
    expect(err).toBeInstanceOf(InvalidationError);
    const storeFailures = err.failures.filter((f: unknown) => f instanceof StoreError).length;
    expect(storeFailures).toBeGreaterThan(1);
    expect(err.message).toBe(
      `@authcache/core: invalidateUser did not reach the store (invalidate ${storeFailures} times) and the bus (publish)`,
    );
    await cache.close();
  });
});
