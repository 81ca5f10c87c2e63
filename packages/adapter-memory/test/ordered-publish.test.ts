// The ordered publish (core's InvalidationBus.publishAfter) on the memory adapter: a bus given a
// memory store (`createMemoryBus({ store })`) declares that store's keyspace and makes a
// revocation's store writes and its log entry in one synchronous step. Which store/bus pairs
// declare one keyspace; the writes are visible whenever the entry is (at every microtask and at
// delivery); a failing write appends nothing; the writes mean what Store.addMember/deleteMany do.
import { describe, expect, test } from "bun:test";
import { createAuthCache } from "@authcache/core";
import {
  createKeyCodec,
  type InvalidationBus,
  type InvalidationMessage,
  type Store,
  type StoreWrite,
} from "@authcache/core/adapter";
import { createMemoryBus, createMemoryStore, type MemoryBus } from "../src/index.ts";

const revoke = (jti: string): InvalidationMessage => ({
  type: "revoke",
  jti,
  expiresAt: Date.now() + 600_000,
});

/** Polls `check` every 2 ms, at most 500 times (a bounded loop, not a speed limit). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(check()).toBe(true);
}

/** A follower that, as each revoke entry is delivered, reads the store at that moment (the memory
 *  store's `read` computes its answer when called: no await before it answers). */
async function snapshotFollower(bus: MemoryBus, store: Store, prefix: string) {
  const codec = createKeyCodec({ prefix });
  const seen: { jti: string; snapshot: Promise<{ revoked: boolean; nr: boolean }> }[] = [];
  const stop = await bus.subscribe({
    message(m) {
      if (m.type !== "revoke") return;
      const snapshot = store
        .read(
          [codec.notRevoked(m.jti)],
          [{ set: codec.revoked(), member: codec.revokedMember(m.jti) }],
        )
        .then((r) => ({ revoked: r.members[0] === true, nr: r.values[0] !== undefined }));
      seen.push({ jti: m.jti, snapshot });
    },
    reset() {},
    caughtUp() {},
  });
  return { seen, codec, stop };
}

/** The store's calls of the two write methods, counted (every call passed through unchanged). */
function counted(store: Store): { store: Store; writes: string[] } {
  const writes: string[] = [];
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (prop === "addMember" || prop === "deleteMany") writes.push(prop);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, writes };
}

/** The bus's `publish` and `publishAfter` calls, counted. */
function countedBus(bus: InvalidationBus): { bus: InvalidationBus; calls: string[] } {
  const calls: string[] = [];
  const wrapped = new Proxy(bus, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (prop === "publish" || prop === "publishAfter") calls.push(prop);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { bus: wrapped, calls };
}

const context = (email: string) => ({
  user: {
    email,
    fullName: "U",
    isAdmin: false,
    isActive: true,
    authProvider: "local",
    createdAt: "2026-01-01T00:00:00.000Z",
  },
  personalTeamId: "t",
  isTokenRevoked: false,
});

describe("memory ordered publish", () => {
  test("keyspace: a bus given a store (and every view of it) declares that store's; a bus without one, or a store it was not given, never matches; a wrapper or a copy of a store is refused", async () => {
    const store = createMemoryStore();
    const other = createMemoryStore();
    expect(typeof store.keyspace).toBe("string");
    expect(store.keyspace).not.toBe(other.keyspace); // each store object is its own data
    // A bus without a store: neither keyspace nor publishAfter (core takes today's path).
    const plain = createMemoryBus();
    expect(plain.keyspace).toBeUndefined();
    expect(plain.publishAfter).toBeUndefined();
    expect(plain.connect().keyspace).toBeUndefined();
    // Given the store: its keyspace, on the bus and on every view (another process's connection
    // to the same log, writing into the same store object).
    const bus = createMemoryBus({ store });
    expect(bus.keyspace).toBe(store.keyspace);
    expect(typeof bus.publishAfter).toBe("function");
    const view = bus.connect();
    expect(view.keyspace).toBe(store.keyspace);
    expect(typeof view.publishAfter).toBe("function");
    // Two logs writing into one store both declare it; a bus given the other store does not.
    const second = createMemoryBus({ store });
    expect(second.keyspace).toBe(store.keyspace);
    const otherBus = createMemoryBus({ store: other });
    expect(otherBus.keyspace).toBe(other.keyspace);
    expect(otherBus.keyspace).not.toBe(store.keyspace);
    // Only the object createMemoryStore made: a copy or a proxy (which could carry the keyspace
    // string without the data behind it) is refused, naming the option.
    const copy = { ...store };
    const proxy = new Proxy(store, {});
    for (const given of [copy, proxy, { keyspace: store.keyspace }]) {
      expect(() => createMemoryBus({ store: given as typeof store })).toThrow(
        /adapter-memory: store must be a store made by createMemoryStore/,
      );
    }
    // Many stores: no token repeats.
    const tokens = new Set(Array.from({ length: 1000 }, () => createMemoryStore().keyspace));
    expect(tokens.size).toBe(1000);
    await Promise.all([plain.close(), bus.close(), view.close(), second.close(), otherBus.close()]);
  });

  test("the writes are visible whenever the entry is: an observer at every microtask and timer turn, and a follower reading the store at delivery", async () => {
    const store = createMemoryStore();
    const bus = createMemoryBus({ store, confirmIntervalMs: 20 });
    const followed = bus.connect();
    const follower = await snapshotFollower(followed, store, "t:");
    const { codec } = follower;
    const publishAfter = bus.publishAfter as NonNullable<typeof bus.publishAfter>;
    const wrong: string[] = [];
    let observing = true;
    let looks = 0;
    // Whenever any other code can run, compare what the log holds with what the store holds.
    const look = async (jtis: readonly string[]) => {
      const end = bus.end;
      for (let i = 0; i < Math.min(end, jtis.length); i++) {
        const jti = jtis[i] as string;
        const r = await store.read(
          [codec.notRevoked(jti)],
          [{ set: codec.revoked(), member: codec.revokedMember(jti) }],
        );
        if (r.members[0] !== true || r.values[0] !== undefined)
          wrong.push(`entry ${i + 1} readable before its writes`);
      }
      looks++;
    };
    const jtis = Array.from({ length: 50 }, (_, i) => `j${i}`);
    // Bounded microtask observers, one chain alongside each publish (an unbounded chain would
    // starve the timers); a timer-turn observer for the whole run.
    const microtasks = async (hops: number) => {
      for (let i = 0; i < hops; i++) await look(jtis);
    };
    const timers = (async () => {
      while (observing) {
        await look(jtis);
        await new Promise((r) => setTimeout(r, 0));
      }
    })();
    for (const jti of jtis) {
      await store.set(codec.notRevoked(jti), "planted", Date.now() + 600_000);
      const writes: StoreWrite[] = [
        {
          op: "addMember",
          set: codec.revoked(),
          member: codec.revokedMember(jti),
          expiresAt: Date.now() + 600_000,
        },
        { op: "delete", keys: [codec.notRevoked(jti)] },
      ];
      const watching = microtasks(100);
      await publishAfter.call(bus, writes, revoke(jti));
      await watching;
    }
    await until(() => follower.seen.length === jtis.length);
    observing = false;
    await timers;
    expect(looks).toBeGreaterThan(jtis.length);
    expect(wrong).toEqual([]);
    expect(follower.seen.map((s) => s.jti)).toEqual(jtis);
    for (const { jti, snapshot } of follower.seen) {
      expect({ jti, ...(await snapshot) }).toEqual({ jti, revoked: true, nr: false });
    }
    follower.stop();
    await followed.close();
    await bus.close();
  });

  test("a failing write appends nothing and makes none of the writes; a closed bus rejects and writes nothing; other views carry on", async () => {
    const store = createMemoryStore();
    const bus = createMemoryBus({ store, confirmIntervalMs: 20 });
    const view = bus.connect();
    const seen: string[] = [];
    const stop = await view.subscribe({
      message: (m) => seen.push(m.type === "revoke" ? m.jti : m.type),
      reset() {},
      caughtUp() {},
    });
    const publishAfter = bus.publishAfter as NonNullable<typeof bus.publishAfter>;
    await store.set("t:k", "v", Date.now() + 600_000);
    const good: StoreWrite = {
      op: "addMember",
      set: "s",
      member: "m",
      expiresAt: Date.now() + 1e6,
    };
    const bad = [
      { op: "zadd", set: "s", member: "m", expiresAt: 1 },
      { op: "addMember", set: "s", member: 7, expiresAt: 1 },
      { op: "addMember", set: "s", member: "m", expiresAt: "soon" },
      { op: "delete", keys: "t:k" },
      { op: "delete", keys: ["t:k", 3] },
      null,
    ];
    for (const w of bad) {
      const writes = [good, { op: "delete", keys: ["t:k"] }, w] as unknown as StoreWrite[];
      await expect(publishAfter.call(bus, writes, revoke("bad"))).rejects.toThrow(
        /adapter-memory: writes\[2\]/,
      );
    }
    await expect(
      publishAfter.call(bus, "nope" as unknown as StoreWrite[], revoke("bad")),
    ).rejects.toThrow(/adapter-memory: writes must be an array/);
    expect(bus.end).toBe(0);
    expect(await store.hasMember("s", "m")).toBe(false);
    expect(await store.get("t:k")).toBe("v");
    // A closed view rejects before writing; the others still publish, in order.
    const closing = bus.connect();
    const closedPublish = closing.publishAfter as NonNullable<typeof closing.publishAfter>;
    await closing.close();
    await expect(closedPublish.call(closing, [good], revoke("closed"))).rejects.toThrow();
    expect(bus.end).toBe(0);
    expect(await store.hasMember("s", "m")).toBe(false);
    await publishAfter.call(bus, [good], revoke("ok"));
    expect(bus.end).toBe(1);
    expect(await store.hasMember("s", "m")).toBe(true);
    await until(() => seen.length >= 1);
    await new Promise((r) => setTimeout(r, 30)); // a rejected call's entry, had it appended
    expect(seen).toEqual(["ok"]);
    stop();
    await view.close();
    await bus.close();
  });

  test("the writes mean exactly Store.addMember and Store.deleteMany: expiry, the later deadline wins, owner indexes and set pruning", async () => {
    let t = 1_000_000;
    const now = () => t;
    const viaBus = createMemoryStore({ now });
    const viaStore = createMemoryStore({ now });
    const bus = createMemoryBus({ store: viaBus, now });
    const publishAfter = bus.publishAfter as NonNullable<typeof bus.publishAfter>;
    for (const s of [viaBus, viaStore]) {
      await s.set("a", "1", t + 1000, ["own"]);
      await s.set("b", "2", t + 1000, ["own"]);
      await s.addMember("set", "short", t + 10);
    }
    const steps: StoreWrite[][] = [
      [{ op: "addMember", set: "set", member: "m", expiresAt: t + 500 }],
      [{ op: "addMember", set: "set", member: "m", expiresAt: t + 100 }], // shorter: ignored
      [{ op: "addMember", set: "set", member: "dead", expiresAt: t }], // already expired
      [{ op: "delete", keys: ["a", "missing"] }],
      [
        { op: "addMember", set: "other", member: "x", expiresAt: t + 50 },
        { op: "delete", keys: [] },
      ],
    ];
    const state = async (s: typeof viaBus) => ({
      m: await s.hasMember("set", "m"),
      dead: await s.hasMember("set", "dead"),
      short: await s.hasMember("set", "short"),
      x: await s.hasMember("other", "x"),
      a: await s.get("a"),
      b: await s.get("b"),
      size: s.size,
      owners: s.ownerCount,
      sets: s.setCount,
    });
    for (const [i, writes] of steps.entries()) {
      if (i === 2) t += 20; // "short" has expired: the next addMember prunes it
      await publishAfter.call(bus, writes, revoke(`s${i}`));
      for (const w of writes) {
        if (w.op === "addMember") await viaStore.addMember(w.set, w.member, w.expiresAt);
        else await viaStore.deleteMany([...w.keys]);
      }
      expect(await state(viaBus)).toEqual(await state(viaStore));
    }
    t += 200; // "m" lived to +500, not +100
    expect(await state(viaBus)).toEqual(await state(viaStore));
    expect(await viaBus.hasMember("set", "m")).toBe(true);
    expect(await viaBus.countMembers("set")).toBe(1);
    t += 400;
    expect(await state(viaBus)).toEqual(await state(viaStore));
    expect(await viaBus.hasMember("set", "m")).toBe(false);
    expect(bus.end).toBe(steps.length);
    await bus.close();
  });

  test("core takes it when the cache's store is the bus's: a revocation makes no store call, and another instance finds the writes made when the entry arrives", async () => {
    const store = createMemoryStore();
    const bus = createMemoryBus({ store, confirmIntervalMs: 20 });
    const a = counted(store);
    const aBus = countedBus(bus);
    const cacheA = createAuthCache({ store: a.store, bus: aBus.bus, prefix: "op:" });
    const views = [bus.connect(), bus.connect(), bus.connect()] as const;
    const cacheB = createAuthCache({ store, bus: views[0], prefix: "op:" });
    const watcher = await snapshotFollower(views[1], store, "op:");
    // A cache on another store (its own data) never takes it with this bus.
    const elsewhere = createMemoryStore();
    const c = counted(elsewhere);
    const cBus = countedBus(views[2]);
    const cacheC = createAuthCache({ store: c.store, bus: cBus.bus, prefix: "op:" });
    try {
      for (let i = 0; i < 10; i++) {
        const jti = `jti-${i}`;
        await store.set(watcher.codec.notRevoked(jti), "planted", Date.now() + 600_000);
        await cacheB.setAuthContext(`u${i}@example.com`, jti, context(`u${i}@example.com`));
        await cacheA.invalidateRevocation(jti, Date.now() + 600_000);
      }
      await until(() => watcher.seen.length === 10);
      expect(a.writes).toEqual([]); // the bus made the writes
      expect(aBus.calls).toEqual(Array(10).fill("publishAfter"));
      for (const { jti, snapshot } of watcher.seen) {
        expect({ jti, ...(await snapshot) }).toEqual({ jti, revoked: true, nr: false });
      }
      await until(() => cacheB.stats().busMessages >= 10);
      expect((await cacheB.getAuthContext("u9@example.com", "jti-9"))?.isTokenRevoked).toBe(true);
      // Another store: today's path (its own writes, then publish).
      await cacheC.invalidateRevocation("jti-c", Date.now() + 600_000);
      expect([...c.writes].sort()).toEqual(["addMember", "deleteMany"]);
      expect(cBus.calls).toEqual(["publish"]);
      const member = watcher.codec.revokedMember("jti-c");
      expect(await store.hasMember(watcher.codec.revoked(), member)).toBe(false);
      expect(await elsewhere.hasMember(watcher.codec.revoked(), member)).toBe(true);
    } finally {
      watcher.stop();
      await cacheA.close();
      await cacheB.close();
      await cacheC.close();
      for (const v of views) await v.close();
      await bus.close();
    }
  });
});
