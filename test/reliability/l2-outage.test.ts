/**
 * L2 outage: with Redis unreachable (hanging, or gone), reads keep answering through their
 * loaders; each read waits at most the per-call timeout until the circuit breaker opens, and
 * once it is open no call reaches the store at all. When the server comes back, the same cache
 * object recovers by itself: no restart, no "disabled for life".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createAuthCache } from "@authcache/core";
import {
  startServer,
  startTcpProxy,
  type TcpProxy,
  type TestServer,
} from "@authcache/test-servers";
import { type CountingStore, countingStore } from "../support/counting-store.ts";
import { sleep } from "../support/fleet.ts";

const TIMEOUT_MS = 100;
const BREAKER = { failures: 5, resetMs: 1000 };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

let server: TestServer;
let proxy: TcpProxy;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await startServer("redis");
  proxy = await startTcpProxy(server);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await proxy?.close();
  await server?.stop();
});

function makeCache(prefix: string) {
  const redisStore = createRedisStore({ url: proxy.url });
  const store: CountingStore = countingStore(redisStore);
  const bus = createRedisBus({ url: proxy.url, stream: `${prefix}log`, confirmIntervalMs: 100 });
  const cache = createAuthCache({
    store,
    bus,
    prefix,
    maxStaleMs: 500,
    l2: { timeoutMs: TIMEOUT_MS, breaker: BREAKER },
    logger: silent,
  });
  closers.push(
    () => cache.close(),
    () => bus.close(),
    () => redisStore.close(),
  );
  return { cache, store };
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  detail?: () => unknown,
): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}${detail ? `: ${JSON.stringify(detail())}` : ""}`);
}

/** Reads fresh users (L1 misses) one by one; per read: store calls made and latency. */
async function readFresh(
  cache: ReturnType<typeof createAuthCache>,
  store: CountingStore,
  tag: string,
  n: number,
): Promise<{ calls: number[]; latencies: number[]; loaded: number }> {
  const calls: number[] = [];
  const latencies: number[] = [];
  let loaded = 0;
  for (let i = 0; i < n; i++) {
    const email = `${tag}-${i}@x`;
    const before = store.total;
    const started = performance.now();
    const user = await cache.resolveUser(email, async () => {
      loaded++;
      return { email, active: true };
    });
    latencies.push(performance.now() - started);
    calls.push(store.total - before);
    expect(user).toEqual({ email, active: true });
  }
  return { calls, latencies, loaded };
}

describe("L2 outage", () => {
  for (const mode of ["hanging (blackholed)", "gone (killed)"] as const) {
    test(`${mode}: loaders answer, the breaker stops the calls, and it recovers by itself`, async () => {
      const { cache, store } = makeCache(mode.startsWith("hanging") ? "hang:" : "gone:");
      await until("the bus to be up", () => cache.stats().busState === "up");
      await cache.resolveUser("warm@x", async () => ({ email: "warm@x", active: true }));

      if (mode.startsWith("hanging")) proxy.setBlackhole(true);
      else await server.kill();

      // Until the breaker opens, every read tries L2 once and gives up after the timeout
      // (a blackholed L2 never answers, so a read that completes was cut off by it).
      const outage = await readFresh(cache, store, `${mode}-a`, BREAKER.failures + 10);
      const firstCalls = outage.calls.slice(0, BREAKER.failures);
      const afterOpen = outage.calls.slice(BREAKER.failures);
      expect(outage.loaded).toBe(BREAKER.failures + 10);
      expect(firstCalls.every((c) => c >= 1)).toBe(true);
      expect(afterOpen).toEqual(afterOpen.map(() => 0));
      const s = cache.stats();
      expect(s.l2Healthy).toBe(false);
      expect(s.l2Errors).toBeGreaterThanOrEqual(BREAKER.failures);
      const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(",");
      console.log(
        `L2 outage (${mode}): timeout ${TIMEOUT_MS} ms; read latencies until the breaker opened [${fmt(
          outage.latencies.slice(0, BREAKER.failures),
        )}] ms, after [${fmt(outage.latencies.slice(BREAKER.failures))}] ms; store calls per read [${outage.calls.join(",")}]`,
      );

      // Invalidations report the failure instead of pretending (and never hang either).
      await expect(cache.invalidateUser("warm@x")).rejects.toThrow();

      if (mode.startsWith("hanging")) proxy.setBlackhole(false);
      else await server.restart();

      // Same cache object: after the breaker's reset time a probe gets through and L2 is back.
      let probe = 0;
      await until(
        "L2 and the bus to recover",
        async () => {
          // A fresh key each time: an L1 hit makes no call, and only calls probe the breaker.
          const email = `${mode}-probe-${probe++}@x`;
          await cache.resolveUser(email, async () => ({ email, active: true }));
          const st = cache.stats();
          return st.l2Healthy === true && st.busState === "up";
        },
        () => ({ stats: cache.stats(), calls: store.calls }),
      );
      // A value written to L2 by another instance is now an L2 hit here...
      const other = makeCache(mode.startsWith("hanging") ? "hang:" : "gone:");
      await other.cache.resolveUser("shared@x", async () => ({ email: "shared@x", active: true }));
      const hitsBefore = cache.stats().l2Hits;
      let loaderRan = false;
      const got = await cache.resolveUser("shared@x", async () => {
        loaderRan = true;
        return { email: "wrong", active: false };
      });
      expect(got).toEqual({ email: "shared@x", active: true });
      expect(loaderRan).toBe(false);
      expect(cache.stats().l2Hits).toBe(hitsBefore + 1);
      // ...and L1 is trusted again: the next read makes no store call.
      const callsBefore = store.total;
      expect(await cache.getUser("shared@x")).toEqual({ email: "shared@x", active: true });
      expect(store.total).toBe(callsBefore);
      // Invalidations work again, across instances.
      await cache.invalidateUser("shared@x");
      await until(
        "the other instance to drop the user",
        async () => (await other.cache.getUser("shared@x")) === undefined,
      );
    }, 30_000);
  }
});
