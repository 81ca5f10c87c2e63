import { describe, expect, test } from "bun:test";
import { createAuthCache, silentLogger } from "../src/index.ts";
import { ManualBus, MapStore } from "./support/map-store.ts";

function fleet() {
  const clock = { t: 1_000_000 };
  const store = new MapStore(() => clock.t);
  const bus = new ManualBus();
  const make = () =>
    createAuthCache({ store, bus, logger: silentLogger, now: () => clock.t, maxStaleMs: 1_000 });
  return { clock, store, bus, make };
}

describe("bounded staleness", () => {
  test("L1 is not trusted before the first confirmation, then trusted for maxStaleMs", async () => {
    const { clock, store, bus, make } = fleet();
    const cache = make();
    await cache.setUser("a@x", { n: 1 });
    const reads = () => store.calls.get("read") ?? 0;
    const r0 = reads();
    expect(await cache.getUser("a@x")).toEqual({ n: 1 }); // from L2: L1 not trusted yet
    expect(reads()).toBe(r0 + 1);
    expect(cache.stats().l1Trusted).toBe(false);
    bus.confirm(clock.t);
    await cache.setUser("a@x", { n: 1 });
    const r1 = reads();
    expect(await cache.getUser("a@x")).toEqual({ n: 1 });
    expect(reads()).toBe(r1); // L1 hit
    clock.t += 999;
    expect(await cache.getUser("a@x")).toEqual({ n: 1 });
    expect(reads()).toBe(r1);
    clock.t += 1; // maxStaleMs since the last confirmation: L1 is skipped
    expect(await cache.getUser("a@x")).toEqual({ n: 1 });
    expect(reads()).toBe(r1 + 1);
    expect(cache.stats().l1Trusted).toBe(false);
    bus.confirm(clock.t);
    expect(cache.stats().l1Trusted).toBe(true);
    await cache.close();
  });

  test("an instance that stops hearing the bus serves no invalidated entry after maxStaleMs", async () => {
    const { clock, bus, make } = fleet();
    const a = make();
    const b = make();
    bus.confirm(clock.t);
    await b.setUserRole("u@x", "t", "admin");
    expect(await b.getUserRole("u@x", "t")).toBe("admin");
    const bFollower = bus.followers[1];
    if (bFollower === undefined) throw new Error("b did not subscribe");
    bFollower.held = true; // b goes deaf
    await a.invalidateUserRole("u@x", "t");
    expect(b.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    // Within the bound b may still answer from L1 ...
    expect(await b.getUserRole("u@x", "t")).toBe("admin");
    clock.t += 1_000;
    bus.confirm(clock.t); // a confirms; b is deaf and cannot
    // ... but not after it: b falls through to L2, where the role is gone.
    expect(await b.getUserRole("u@x", "t")).toBeUndefined();
    // It hears again: the held entries are applied in order, then it confirms.
    bFollower.held = false;
    for (const m of bFollower.queue.splice(0)) bFollower.handlers.message(m);
    bus.confirm(clock.t);
    expect(await b.getUserRole("u@x", "t")).toBeUndefined();
    await a.close();
    await b.close();
  });

  test("a reset flushes L1 but keeps revocations; a 'down' state stops trusting at once", async () => {
    const { clock, bus, make } = fleet();
    const a = make();
    bus.confirm(clock.t);
    a.setTeamMembershipValidSync("u@x", ["t1"], true);
    await a.invalidateRevocation("j1");
    expect(a.getTeamMembershipValidSync("u@x", ["t1"])).toBe(true);
    bus.followers[0]?.handlers.reset();
    expect(a.getTeamMembershipValidSync("u@x", ["t1"])).toBeUndefined();
    expect(await a.isTokenRevoked("j1")).toBe(true);
    expect(a.stats().busResets).toBe(1);
    a.setTeamMembershipValidSync("u@x", ["t1"], true);
    expect(a.getTeamMembershipValidSync("u@x", ["t1"])).toBe(true);
    bus.state("down");
    expect(a.getTeamMembershipValidSync("u@x", ["t1"])).toBeUndefined();
    expect(a.stats().busState).toBe("down");
    await a.close();
  });

  test("with a store but no bus, L1 entries live at most maxStaleMs", async () => {
    const clock = { t: 0 };
    const store = new MapStore(() => clock.t);
    const cache = createAuthCache({
      store,
      logger: silentLogger,
      now: () => clock.t,
      maxStaleMs: 500,
      ttl: { user: 60_000 },
    });
    await cache.setUser("a@x", { n: 1 });
    const reads = () => store.calls.get("read") ?? 0;
    const r0 = reads();
    await cache.getUser("a@x");
    expect(reads()).toBe(r0);
    clock.t += 500;
    await cache.getUser("a@x");
    expect(reads()).toBe(r0 + 1);
    await cache.close();
  });

  test("with neither store nor bus, the instance is its own authority", async () => {
    const clock = { t: 0 };
    const cache = createAuthCache({ logger: silentLogger, now: () => clock.t, maxStaleMs: 10 });
    await cache.setUser("a@x", { n: 1 });
    clock.t += 59_999;
    expect(await cache.getUser("a@x")).toEqual({ n: 1 });
    clock.t += 1;
    expect(await cache.getUser("a@x")).toBeUndefined();
    await cache.close();
  });
});
