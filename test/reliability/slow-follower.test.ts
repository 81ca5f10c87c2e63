/**
 * A follower whose connection to the log is slow (every reply arrives 400 ms late) while L2 and
 * the other instance are fast. A confirmation of being caught up is only as old as the moment
 * the server answered (the bus dates it by when the read was sent), not the moment the reply
 * arrived: dated by arrival, the follower would trust its L1 past the bound. Instance B caches a
 * user, instance A invalidates it again and again, B reads it continuously; the ground truth
 * counts B's stale reads.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  startServer,
  startTcpProxy,
  type TcpProxy,
  type TestServer,
} from "@authcache/test-servers";
import { createRedisCache, type RedisCacheHandle } from "../support/cache-factory.ts";
import { sleep } from "../support/fleet.ts";
import { checkStaleness, GroundTruth } from "../support/ground-truth.ts";

const MAX_STALE_MS = 1000;
const DELAY_MS = 400;
const ROUNDS = 6;

let server: TestServer;
let slow: TcpProxy;
const handles: RedisCacheHandle[] = [];

beforeAll(async () => {
  server = await startServer("redis");
  slow = await startTcpProxy(server);
});

afterAll(async () => {
  for (const h of handles) await h.close().catch(() => {});
  await slow?.close();
  await server?.stop();
});

test("a slow log connection never stretches the staleness bound", async () => {
  const common = {
    prefix: "slow:",
    stream: "slow:log",
    maxStaleMs: MAX_STALE_MS,
    confirmIntervalMs: 200,
    timeoutMs: 250,
  };
  const a = await createRedisCache({ ...common, url: server.url });
  const b = await createRedisCache({ ...common, url: server.url, busUrl: slow.url });
  handles.push(a, b);
  const truth = new GroundTruth();
  const email = "slow@x";
  let version = 0;
  truth.write(`user:${email}`, version);
  const load = async () => ({ email, version });
  // Connect at full speed (ioredis's connection handshake alone would take seconds), then slow
  // every reply on B's log connection down.
  for (let i = 0; i < 200 && b.cache.stats().busState !== "up"; i++) await sleep(25);
  expect(b.cache.stats().busState).toBe("up");
  slow.setDelay(DELAY_MS);

  let running = true;
  const reader = (async () => {
    while (running) {
      const startedAt = Date.now();
      const user = (await b.cache.resolveUser(email, load)) as { version: number };
      truth.read(`user:${email}`, user.version, startedAt, Date.now(), "B");
      await sleep(5);
    }
  })();
  for (let round = 0; round < ROUNDS; round++) {
    // Let B settle on the current version in L1, then change it and invalidate through A.
    await sleep(600 + ((round * 137) % 500));
    version++;
    truth.write(`user:${email}`, version);
    const pending = truth.invalidating([`user:${email}`]);
    await a.cache.invalidateUser(email);
    pending.resolved();
  }
  await sleep(MAX_STALE_MS + 500);
  running = false;
  await reader;
  const report = checkStaleness(truth.history(), { maxStaleMs: MAX_STALE_MS });
  console.log(
    `slow follower (replies ${DELAY_MS} ms late): ${report.checked} reads on B, ${ROUNDS} invalidations through A, ` +
      `stale reads=${report.stale.length}${report.stale.length > 0 ? ` (worst ${Math.max(...report.stale.map((s) => s.lateByMs))} ms past the bound)` : ""}; ` +
      `B l1Hits ${b.cache.stats().l1Hits}, l2Hits ${b.cache.stats().l2Hits}`,
  );
  expect(report.stale).toEqual([]);
  expect(report.checked).toBeGreaterThan(100);
  expect(b.cache.stats().l1Hits).toBeGreaterThan(0);
}, 60_000);
