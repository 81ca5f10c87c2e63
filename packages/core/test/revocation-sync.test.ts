import { describe, expect, test } from "bun:test";
import {
  BusError,
  createAuthCache,
  InvalidationError,
  MAX_IDENTIFIER_LENGTH,
  StoreError,
  silentLogger,
} from "../src/index.ts";
import { Invalidator } from "../src/invalidator.ts";
import { resolveOptions } from "../src/options.ts";
import { Tiers } from "../src/tiers.ts";
import { ManualBus, MapStore } from "./support/map-store.ts";

const REVOKED = { user: null, personalTeamId: null, isTokenRevoked: true };
const ctx = (email: string) => ({ user: { email }, personalTeamId: null, isTokenRevoked: false });

function fleet() {
  const clock = { t: 1_000_000 };
  const store = new MapStore(() => clock.t);
  const bus = new ManualBus();
  const make = () =>
    createAuthCache({ store, bus, logger: silentLogger, now: () => clock.t, maxStaleMs: 1_000 });
  return { clock, store, bus, make };
}

describe("syncRevokedTokens reaches every instance (issue 13, defect 5)", () => {
  test("A's sync is published as revokeMany entries; B drops the contexts it holds and answers revoked", async () => {
    const { clock, bus, make } = fleet();
    const a = make();
    const b = make();
    bus.confirm(clock.t);
    await b.setAuthContext("u@x", "j1", ctx("u@x"));
    expect(b.getAuthContextSync("u@x", "j1")).toEqual(ctx("u@x"));
    expect(await a.syncRevokedTokens(["j1", { jti: "j2", expiresAt: clock.t + 5_000 }])).toBe(2);
    const entries = bus.log.filter((m) => m.type === "revokeMany");
    expect(entries).toEqual([
      {
        type: "revokeMany",
        revocations: [
          { jti: "j1", expiresAt: clock.t + 86_400_000 },
          { jti: "j2", expiresAt: clock.t + 5_000 },
        ],
      },
    ]);
    // Still trusted (no time passed): the answer comes from B's revoked set, not L2.
    expect(b.getAuthContextSync("u@x", "j1")).toEqual(REVOKED);
    expect(await b.getAuthContext("u@x", "j1")).toEqual(REVOKED);
    expect(await b.resolveAuthContext("u@x", "j1", () => ctx("u@x"))).toEqual(REVOKED);
    expect(b.stats().revokedCount).toBe(2);
    // Each revocation lives until its own deadline.
    clock.t += 5_001;
    bus.confirm(clock.t);
    expect(b.stats().revokedCount).toBe(1);
  });

  test("a load in flight on B for a synced jti is returned but cached nowhere", async () => {
    const { clock, bus, make } = fleet();
    const a = make();
    const b = make();
    bus.confirm(clock.t);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const loading = b.resolveAuthContext("u@x", "j1", async () => {
      await gate;
      return ctx("u@x");
    });
    await new Promise((r) => setTimeout(r, 0));
    await a.syncRevokedTokens(["j1"]);
    release();
    expect(await loading).toEqual(ctx("u@x"));
    expect(b.stats().staleFillsRejected).toBe(1);
    expect(b.getAuthContextSync("u@x", "j1")).toEqual(REVOKED);
    expect(await b.getAuthContext("u@x", "j1")).toEqual(REVOKED);
  });

  test("a sync whose publish fails rejects with an InvalidationError, after applying here and writing L2", async () => {
    const { clock, bus, make } = fleet();
    const a = make();
    bus.confirm(clock.t);
    bus.failPublish = true;
    const error = await a.syncRevokedTokens(["j1", "j2"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidationError);
    expect((error as InvalidationError).operation).toBe("syncRevokedTokens");
    expect((error as InvalidationError).cause).toBeInstanceOf(BusError);
    expect(await a.isTokenRevoked("j1")).toBe(true);
    expect(a.stats().busErrors).toBe(1);
    // A fresh instance reads it from L2.
    const c = make();
    expect(await c.isTokenRevoked("j2")).toBe(true);
    bus.failPublish = false;
    expect(await a.syncRevokedTokens(["j1", "j2"])).toBe(2);
  });

  test("a sync whose L2 write fails rejects too, after publishing: an instance that cannot hear the log reads L2", async () => {
    const { clock, store, bus, make } = fleet();
    // A's view of the shared store loses every revoked-set write.
    const failing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === "addMember") return async () => Promise.reject(new Error("L2 down"));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const a = createAuthCache({
      store: failing,
      bus,
      logger: silentLogger,
      now: () => clock.t,
      maxStaleMs: 1_000,
    });
    const b = make();
    bus.confirm(clock.t);
    await b.setAuthContext("u@x", "j1", ctx("u@x"));
    const error = await a.syncRevokedTokens(["j1"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidationError);
    expect((error as InvalidationError).operation).toBe("syncRevokedTokens");
    expect((error as InvalidationError).cause).toBeInstanceOf(StoreError);
    // Published all the same: B, which hears the log, answers revoked.
    expect(b.getAuthContextSync("u@x", "j1")).toEqual(REVOKED);
  });

  test("a sync skips (and logs) a jti longer than MAX_IDENTIFIER_LENGTH; one at the limit goes out", async () => {
    const { clock, bus } = fleet();
    const warnings: string[] = [];
    const a = createAuthCache({
      bus,
      logger: { ...silentLogger, warn: (m: string) => void warnings.push(m) },
      now: () => clock.t,
    });
    const at = "j".repeat(MAX_IDENTIFIER_LENGTH);
    expect(await a.syncRevokedTokens([`${at}j`, at])).toBe(1);
    expect(warnings.some((w) => w.includes(String(MAX_IDENTIFIER_LENGTH)))).toBe(true);
    expect(bus.log).toEqual([
      { type: "revokeMany", revocations: [{ jti: at, expiresAt: clock.t + 86_400_000 }] },
    ]);
  });
});

describe("publish refuses an entry a follower would drop (issue 13, defect 6)", () => {
  test("the bus is not called, its breaker counts nothing, and the invalidation rejects naming the limit", async () => {
    const bus = new ManualBus();
    const e = new Invalidator(new Tiers(resolveOptions({ bus, logger: silentLogger })));
    const huge = { type: "user" as const, email: "\u0000".repeat(180_000) };
    const error = await e.invalidate("invalidateUser", huge).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(InvalidationError);
    const cause = (error as InvalidationError).cause as BusError;
    expect(cause).toBeInstanceOf(BusError);
    expect(cause.cause).toBeInstanceOf(RangeError);
    expect(String((cause.cause as Error).message)).toContain("MAX_LOG_ENTRY_BYTES");
    expect(bus.log).toEqual([]);
    expect(e.busGuard?.failures).toBe(0);
    expect(e.busGuard?.state).toBe("closed");
  });
});
