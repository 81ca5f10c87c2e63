/**
 * Counted, not timed: a warm authenticated request makes 0 database round trips and 0 L2
 * calls; a cold one makes exactly 1 database round trip for the auth context (plus 1 for the
 * user's teams, which the reference flow loads separately).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import type { InvalidationBus, Store } from "@authcache/core";
import { startServer, type TestServer } from "@authcache/test-servers";
import type { Gateway } from "../src/gateway.ts";
import {
  ALICE,
  BOB,
  call,
  countingStore,
  mcpSession,
  removeTempDirs,
  testGateway,
  tokenFor,
  totalCalls,
} from "./helpers.ts";

const opened: Gateway[] = [];
afterEach(async () => {
  for (const gw of opened.splice(0)) await gw.close();
});
afterAll(removeTempDirs);

interface Snapshot {
  readonly roundTrips: number;
  readonly kinds: Record<string, number>;
  readonly l2: number;
}

function snapshot(gw: Gateway, calls?: Map<string, number>): Snapshot {
  return {
    roundTrips: gw.database.counter.total,
    kinds: gw.data.queryCounts(),
    l2: calls ? totalCalls(calls) : 0,
  };
}

function delta(before: Snapshot, after: Snapshot) {
  const kinds: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.kinds)) {
    const d = v - (before.kinds[k] ?? 0);
    if (d !== 0) kinds[k] = d;
  }
  return { roundTrips: after.roundTrips - before.roundTrips, kinds, l2: after.l2 - before.l2 };
}

/** Waits (bounded) until the cache reports its bus caught up, so L1 is trusted. */
async function busUp(gw: Gateway): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((gw.cache.stats() as { busState?: string }).busState === "up") return;
    await Bun.sleep(10);
  }
  throw new Error("the bus never reported up");
}

/** Each route as a request maker; the MCP session is opened (initialize) before measuring. */
async function routes(gw: Gateway, token: string) {
  const session = await mcpSession(gw, token);
  return [
    async () => (await call(gw, "/auth/me", { token })).status,
    async () => (await call(gw, "/teams/team-research/role", { token })).status,
    async () => (await session.request("tools/list")).status,
  ];
}

describe("AUTH_CACHE_ENABLED=false", () => {
  test("every request pays the database again: the baseline the cache is measured against", async () => {
    const gw = await testGateway({ env: { AUTH_CACHE_ENABLED: "false" } });
    opened.push(gw);
    const token = await tokenFor(gw, ALICE);
    for (let i = 0; i < 3; i++) {
      const s0 = snapshot(gw);
      expect((await call(gw, "/auth/me", { token })).status).toBe(200);
      expect(delta(s0, snapshot(gw))).toEqual({
        roundTrips: 2,
        kinds: { auth_context: 1, user_teams: 1 },
        l2: 0,
      });
    }
  });
});

describe("L1 only (the embedded default)", () => {
  test("cold: 1 round trip for the auth context, 1 for the teams; warm: 0", async () => {
    const gw = await testGateway();
    opened.push(gw);
    const token = await tokenFor(gw, ALICE);

    const s0 = snapshot(gw);
    expect((await call(gw, "/auth/me", { token })).status).toBe(200);
    const cold = delta(s0, snapshot(gw));
    expect(cold).toEqual({ roundTrips: 2, kinds: { auth_context: 1, user_teams: 1 }, l2: 0 });

    for (const route of await routes(gw, token)) {
      // First use of a route may load what only that route needs (the role); the second is warm.
      await route();
      const before = snapshot(gw);
      for (let i = 0; i < 5; i++) expect(await route()).toBe(200);
      expect(delta(before, snapshot(gw))).toEqual({ roundTrips: 0, kinds: {}, l2: 0 });
    }
  });

  test("a non-member's 403 is cached too: the second costs 0 round trips", async () => {
    const gw = await testGateway();
    opened.push(gw);
    const token = await tokenFor(gw, BOB);
    expect((await call(gw, "/teams/team-platform/role", { token })).status).toBe(403);
    const before = snapshot(gw);
    expect((await call(gw, "/teams/team-platform/role", { token })).status).toBe(403);
    expect(delta(before, snapshot(gw))).toEqual({ roundTrips: 0, kinds: {}, l2: 0 });
  });

  test("a second token of a warm user costs exactly the auth-context round trip", async () => {
    const gw = await testGateway();
    opened.push(gw);
    await call(gw, "/auth/me", { token: await tokenFor(gw, BOB) });
    const before = snapshot(gw);
    expect((await call(gw, "/auth/me", { token: await tokenFor(gw, BOB) })).status).toBe(200);
    expect(delta(before, snapshot(gw))).toEqual({
      roundTrips: 1,
      kinds: { auth_context: 1 },
      l2: 0,
    });
  });
});

async function closeBoth(bus: InvalidationBus, store: Store): Promise<void> {
  await bus.close();
  await store.close();
}

interface L2Case {
  open(): Promise<{ store: Store; bus: InvalidationBus; close(): Promise<void> }>;
}

let redis: TestServer | undefined;
afterAll(async () => {
  await redis?.stop();
});

const L2_CASES: Record<string, L2Case> = {
  "memory adapter": {
    async open() {
      const store = createMemoryStore();
      const bus = createMemoryBus();
      return { store, bus, close: () => closeBoth(bus, store) };
    },
  },
  "redis adapter (real redis-server)": {
    async open() {
      redis ??= await startServer("redis");
      const store = createRedisStore({ url: redis.url });
      const bus = createRedisBus({ url: redis.url, stream: `count-${crypto.randomUUID()}` });
      return { store, bus, close: () => closeBoth(bus, store) };
    },
  },
};

for (const [name, l2] of Object.entries(L2_CASES)) {
  test(`${name}: warm 0 DB round trips and 0 L2 calls; cold 1 auth-context round trip`, async () => {
    const opened2 = await l2.open();
    const { store, calls } = countingStore(opened2.store);
    const gw = await testGateway({ store, bus: opened2.bus });
    opened.push(gw);
    await busUp(gw);
    const token = await tokenFor(gw, ALICE);

    const s0 = snapshot(gw, calls);
    expect((await call(gw, "/auth/me", { token })).status).toBe(200);
    const cold = delta(s0, snapshot(gw, calls));
    expect(cold.kinds).toEqual({ auth_context: 1, user_teams: 1 });
    expect(cold.roundTrips).toBe(2);
    expect(cold.l2).toBeGreaterThan(0); // L2 consulted on the miss, then filled
    if (process.env.SHOW_COUNTS) console.log(name, "cold", cold, Object.fromEntries(calls));

    for (const route of await routes(gw, token)) {
      await route();
      const before = snapshot(gw, calls);
      for (let i = 0; i < 5; i++) expect(await route()).toBe(200);
      expect(delta(before, snapshot(gw, calls))).toEqual({ roundTrips: 0, kinds: {}, l2: 0 });
    }
    await gw.close();
    await opened2.close();
  });
}

describe("with an L2 store and a bus", () => {
  test("a second instance sharing the L2 fills from it: 0 DB round trips", async () => {
    const shared = createMemoryStore();
    const bus = createMemoryBus();
    const a = await testGateway({ store: shared, bus });
    opened.push(a);
    const token = await tokenFor(a, ALICE);
    expect((await call(a, "/auth/me", { token })).status).toBe(200);

    // B: its own database handle on the same file, the same L2 and bus.
    const b = await testGateway({
      store: shared,
      bus,
      env: { DATABASE_URL: a.config.databaseUrl },
    });
    opened.push(b);
    await busUp(b);
    const before = snapshot(b);
    expect((await call(b, "/auth/me", { token })).status).toBe(200);
    expect(delta(before, snapshot(b)).roundTrips).toBe(0);
    await bus.close();
    await shared.close();
  });
});
