import { describe, expect, test } from "bun:test";
import { createMemoryStore } from "../src/index.ts";

/** A clock the test moves by hand, so expiry needs no waiting. */
function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("memory store", () => {
  test("two caches share one store by sharing the object", async () => {
    const store = createMemoryStore();
    const [cacheA, cacheB] = [store, store];
    await cacheA.set("t:user:{u:a}", "from a", Date.now() + 60_000, ["t:own:{u:a}"]);
    expect(await cacheB.get("t:user:{u:a}")).toBe("from a");
    await cacheB.deleteOwner("t:own:{u:a}");
    expect(await cacheA.get("t:user:{u:a}")).toBeUndefined();
  });

  test("expiry follows the injected clock", async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    await store.set("k", "v", clock.now() + 100);
    await store.addMember("s", "m", clock.now() + 100);
    clock.advance(99);
    expect(await store.get("k")).toBe("v");
    expect(await store.hasMember("s", "m")).toBe(true);
    clock.advance(1);
    expect(await store.get("k")).toBeUndefined();
    expect(await store.hasMember("s", "m")).toBe(false);
  });

  test("expired entries do not accumulate: writes sweep them", async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    for (let i = 0; i < 10_000; i++)
      await store.set(`old${i}`, "v", clock.now() + 10, [`own${i % 7}`]);
    expect(store.size).toBe(10_000);
    expect(store.ownerCount).toBe(7);
    clock.advance(20);
    for (let i = 0; i < 10_000; i++) await store.set(`new${i}`, "v", clock.now() + 60_000);
    // Each write inspects several entries, so the 10 000 expired ones are gone by now.
    expect(store.size).toBe(10_000);
    expect(store.ownerCount).toBe(0);
  });

  test("a steady stream of short-lived writes stays bounded", async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    let peak = 0;
    for (let i = 0; i < 50_000; i++) {
      await store.set(`k${i}`, "v", clock.now() + 50);
      clock.advance(1);
      peak = Math.max(peak, store.size);
    }
    // ~50 live at any time; the incremental sweep keeps the backlog small.
    expect(peak).toBeLessThan(200);
  });

  test("member sets prune expired members on writes and disappear when empty", async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    for (let i = 0; i < 1_000; i++) await store.addMember("revoked", `j${i}`, clock.now() + 10);
    clock.advance(20);
    for (let i = 0; i < 1_000; i++) await store.addMember("revoked", `n${i}`, clock.now() + 60_000);
    expect(await store.countMembers("revoked")).toBe(1_000);
    await store.addMember("other", "x", clock.now() + 10);
    clock.advance(20);
    expect(store.setCount).toBe(2);
    expect(await store.countMembers("other")).toBe(0);
    expect(store.setCount).toBe(1);
  });

  test("deleting a key removes it from every owner index", async () => {
    const store = createMemoryStore();
    const far = Date.now() + 60_000;
    await store.set("k", "v", far, ["own:a", "own:t"]);
    await store.deleteMany(["k"]);
    expect(store.ownerCount).toBe(0);
    await store.set("k", "v", far, ["own:a", "own:t"]);
    await store.deleteOwner("own:a");
    expect(store.ownerCount).toBe(0);
    expect(await store.get("k")).toBeUndefined();
  });

  test("a counter keeps its deadline when incremented without one", async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    await store.incr("gen", clock.now() + 100);
    await store.incr("gen");
    clock.advance(100);
    expect(await store.getCounter("gen")).toBe(0);
    await store.incr("forever");
    clock.advance(10 ** 9);
    expect(await store.getCounter("forever")).toBe(1);
  });

  test("incr on a key holding a non-counter rejects, naming the package", async () => {
    const store = createMemoryStore();
    await store.set("k", "not a number", Date.now() + 60_000);
    await expect(store.incr("k")).rejects.toThrow("@authcache/adapter-memory");
    expect(await store.get("k")).toBe("not a number");
  });

  test("the store stays usable after close (it owns nothing to release)", async () => {
    const store = createMemoryStore();
    await store.close();
    await store.set("k", "v", Date.now() + 60_000);
    expect(await store.get("k")).toBe("v");
  });
});
