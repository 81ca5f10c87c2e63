import { describe, expect, test } from "bun:test";
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { type AuthCache, createAuthCache, type Store, silentLogger } from "@authcache/core";
import { eventually, fleet, fleetOnManualClock, recording, settle } from "./support.ts";

describe("several instances sharing a store and a bus", () => {
  test("three caches apply each other's invalidations to their L1", async () => {
    const f = await fleet(3);
    const [a, b, c] = f.caches as [AuthCache, AuthCache, AuthCache];
    await a.setUser("u@x", { v: 1 });
    for (const x of [b, c]) expect(await x.getUser("u@x")).toEqual({ v: 1 });
    b.setTeamMembershipValidSync("u@x", ["t"], true); // L1 only: only a bus message can drop it
    c.setTeamMembershipValidSync("u@x", ["t"], true);
    await a.invalidateTeamMembership("u@x");
    await settle();
    expect(b.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    expect(c.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    await c.invalidateUser("u@x");
    await settle();
    for (const x of [a, b, c]) expect(await x.getUser("u@x")).toBeUndefined();
    expect(b.stats().busMessages).toBeGreaterThanOrEqual(2);
    await f.close();
  });

  test("a deaf instance stops serving L1 within maxStaleMs, then replays what it missed in order", async () => {
    const { clock, bus, viewC, rec, peer, deafenable } = fleetOnManualClock();
    const a = peer();
    const b = peer();
    const c = deafenable();
    expect(await eventually(() => [a, b, c].every((x) => x.stats().l1Trusted))).toBe(true);

    c.setTeamMembershipValidSync("u@x", ["t"], true);
    await a.setUserRole("u@x", "t", "admin");
    expect(await c.getUserRole("u@x", "t")).toBe("admin");
    viewC.setDeaf(true);
    const heardBefore = rec.received.length;
    await b.invalidateTeamMembership("u@x");
    await a.invalidateUserRole("u@x", "t");
    await a.invalidateRevocation("j1");
    await settle();
    expect(rec.received.length).toBe(heardBefore);
    // Inside the bound, c may still answer from its L1 (that is what the bound allows) ...
    expect(c.getTeamMembershipValidSync("u@x", ["t"])).toBe(true);
    // ... and once maxStaleMs has passed without a confirmation, it no longer does.
    clock.t += 1_000;
    expect(c.stats().l1Trusted).toBe(false);
    const l1HitsBefore = c.stats().l1Hits;
    expect(c.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    expect(await c.getUserRole("u@x", "t")).toBeUndefined(); // from L2, where it is gone
    expect(c.stats().l1Hits).toBe(l1HitsBefore);
    expect(await eventually(() => a.stats().l1Trusted && b.stats().l1Trusted)).toBe(true);

    viewC.setDeaf(false);
    expect(await eventually(() => rec.received.length === heardBefore + 3)).toBe(true);
    expect(rec.received.slice(heardBefore)).toEqual([
      { type: "membership", email: "u@x" },
      { type: "role", email: "u@x", teamId: "t" },
      { type: "revoke", jti: "j1", expiresAt: clock.t - 1_000 + 86_400_000 },
    ]);
    expect(await eventually(() => c.stats().l1Trusted)).toBe(true);
    expect(c.getTeamMembershipValidSync("u@x", ["t"])).toBeUndefined();
    expect(await c.isTokenRevoked("j1")).toBe(true);
    expect(rec.resets).toBe(0);
    for (const x of [a, b, c]) await x.close();
    await bus.close();
  });

  test("an instance that missed trimmed entries flushes its L1 after the reset, keeping revocations", async () => {
    const { bus, viewC, rec, peer, deafenable } = fleetOnManualClock();
    const a = peer();
    const c = deafenable();
    expect(await eventually(() => a.stats().l1Trusted && c.stats().l1Trusted)).toBe(true);
    await a.invalidateRevocation("j-old");
    await settle();
    expect(await c.isTokenRevoked("j-old")).toBe(true);
    c.setTeamMembershipValidSync("untouched@x", ["t"], true);
    viewC.setDeaf(true);
    for (let i = 0; i < 20; i++) await a.invalidateUser(`other${i}@x`);
    bus.trim(2);
    viewC.setDeaf(false);
    expect(await eventually(() => rec.resets === 1)).toBe(true);
    expect(await eventually(() => c.stats().l1Trusted)).toBe(true);
    expect(c.getTeamMembershipValidSync("untouched@x", ["t"])).toBeUndefined();
    expect(c.stats().busResets).toBe(1);
    expect(await c.isTokenRevoked("j-old")).toBe(true);
    for (const x of [a, c]) await x.close();
    await bus.close();
  });

  test("a bus that is down at start-up is retried; L1 is trusted once it follows", async () => {
    const bus = createMemoryBus({ confirmIntervalMs: 10 });
    const view = bus.connect();
    let refusals = 2;
    const flaky = {
      ...recording(view).bus,
      subscribe: (h: Parameters<typeof view.subscribe>[0]) =>
        refusals-- > 0 ? Promise.reject(new Error("no connection yet")) : view.subscribe(h),
    };
    const c = createAuthCache({ bus: flaky, logger: silentLogger, maxStaleMs: 10 });
    expect(c.stats().l1Trusted).toBe(false);
    expect(await eventually(() => c.stats().l1Trusted, 400, 10)).toBe(true);
    expect(c.stats().busErrors).toBe(2);
    await c.close();
    await bus.close();
  });
});

describe("L2 failure with the memory store", () => {
  test("errors never escape get/set, L1 still fills, and the cache uses L2 again when it returns", async () => {
    const clock = { t: 1_000_000 };
    const inner = createMemoryStore({ now: () => clock.t });
    let down = true;
    let calls = 0;
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== "function" || prop === "close") return v;
        return (...args: unknown[]) => {
          calls++;
          return down ? Promise.reject(new Error("ECONNREFUSED")) : v.apply(target, args);
        };
      },
    }) as Store;
    const c = createAuthCache({
      store,
      logger: silentLogger,
      now: () => clock.t,
      l2: { breaker: { failures: 2, resetMs: 1_000 } },
    });
    await c.setUser("a@x", { v: 1 });
    expect(await c.getUser("a@x")).toEqual({ v: 1 });
    expect(await c.getUser("b@x")).toBeUndefined();
    expect(await c.resolveUser("b@x", () => ({ v: 2 }))).toEqual({ v: 2 });
    expect(await c.isTokenRevoked("j")).toBeUndefined();
    expect(c.stats().l2Healthy).toBe(false);
    const callsWhileOpen = calls;
    await c.getUser("c@x");
    expect(calls).toBe(callsWhileOpen);
    down = false;
    clock.t += 1_000;
    await c.setUser("d@x", { v: 4 });
    expect(c.stats().l2Healthy).toBe(true);
    const other = createAuthCache({ store: inner, logger: silentLogger, now: () => clock.t });
    expect(await other.getUser("d@x")).toEqual({ v: 4 });
    await c.close();
    await other.close();
  });
});
