/**
 * The bounded-staleness chaos scenario again, on a Valkey 8 server through the valkey-glide
 * adapter (three caches, one in another process), with a shorter fault schedule.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startServer, type TestServer } from "@authcache/test-servers";
import { type ChaosProxy, startChaosProxy } from "../support/chaos-proxy.ts";
import type { Instance } from "../support/fleet.ts";
import { type Fault, runStalenessScenario } from "../support/staleness-scenario.ts";

const MAX_STALE_MS = 1000;
const SEED = Number(process.env.AUTHCACHE_CHAOS_SEED ?? 20_260_101) + 7;

let server: TestServer;
let proxy: ChaosProxy;
const fleet: Instance[] = [];

beforeAll(async () => {
  server = await startServer("valkey");
  proxy = await startChaosProxy(server);
});

afterAll(async () => {
  for (const inst of fleet) await inst.close().catch(() => {});
  await proxy?.close();
  await server?.stop();
}, 30_000);

const calm = (holdMs: number): Fault => ({ label: "calm", run: () => {}, holdMs });

test("valkey-glide: three caches serve nothing staler than maxStaleMs through proxy faults and a server restart", async () => {
  const result = await runStalenessScenario({
    server,
    proxy,
    seed: SEED,
    maxStaleMs: MAX_STALE_MS,
    namespace: "chaos-valkey",
    adapter: "valkey",
    local: 2,
    workers: 1,
    fleet,
    faults: ({ proxy: p, kill, server: srv }) => [
      {
        label: "delay 150 ms",
        run: () => p.setDelay(150),
        holdMs: 1500,
        undo: () => p.setDelay(0),
      },
      { label: "cut", run: () => void p.cut(), holdMs: 1000 },
      {
        label: "blackhole",
        run: () => p.setBlackhole(true),
        holdMs: 700,
        undo: () => p.setBlackhole(false),
      },
      calm(1000),
      { label: "server killed", run: kill, holdMs: 800, undo: () => srv.restart() },
      calm(1500),
      {
        label: "delay 300 ms + cut",
        run: () => {
          p.setDelay(300);
          p.cut();
        },
        holdMs: 1000,
        undo: () => p.setDelay(0),
      },
      calm(1000),
    ],
  });
  const { report } = result;
  console.log(`chaos summary (valkey): ${result.summary}`);
  if (report.stale.length > 0) console.log("first stale reads:", report.stale.slice(0, 5));
  if (report.foreign.length > 0) console.log("first foreign reads:", report.foreign.slice(0, 5));
  if (result.readErrors.length > 0) console.log("read errors:", result.readErrors);

  expect(report.stale).toEqual([]);
  expect(report.foreign).toEqual([]);
  expect(result.counts.readErrors).toBe(0);
  expect(report.unresolvedInvalidations).toBe(0);
  expect(new Set(fleet.map((i) => i.pid)).size).toBe(2);
  expect(result.faultsInjected).toBeGreaterThanOrEqual(6);
  expect(report.checked).toBeGreaterThan(1000);
  expect(result.sum("l1Hits")).toBeGreaterThan(0);
  expect(result.sum("l2Hits")).toBeGreaterThan(0);
  expect(result.sum("l2Errors")).toBeGreaterThan(0);
}, 90_000);
