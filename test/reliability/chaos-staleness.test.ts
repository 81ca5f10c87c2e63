/**
 * Bounded staleness under chaos: three caches (one in another process) share one Redis for L2
 * and the invalidation log, through a proxy that delays, blackholes and cuts their connections,
 * while the server itself is killed and restarted (losing everything). Readers read, writers
 * change the database and invalidate, and every read is checked against the ground truth:
 * no read may return data invalidated more than maxStaleMs before it started.
 */
import { expect, test } from "bun:test";
import type { Instance } from "../support/fleet.ts";
import {
  calm,
  chaosFixture,
  deafButConfirming,
  expectNoStaleReads,
  runStalenessScenario,
  soak,
  soakTimeout,
} from "../support/staleness-scenario.ts";

const MAX_STALE_MS = 1000;
const SEED = Number(process.env.AUTHCACHE_CHAOS_SEED ?? 20_260_101);
const chaos = chaosFixture("redis");
const fleet = chaos.fleet;

test(
  "three caches, one in another process, serve nothing staler than maxStaleMs through delays, drops, cuts and server restarts",
  async () => {
    const result = await runStalenessScenario({
      server: chaos.server,
      proxy: chaos.proxy,
      seed: SEED,
      maxStaleMs: MAX_STALE_MS,
      namespace: "chaos",
      local: 2,
      workers: 1,
      fleet,
      faults: ({ proxy: p, kill, server: srv }) =>
        soak(() => [
          {
            label: "delay 150 ms",
            run: () => p.setDelay(150),
            holdMs: 2000,
            undo: () => p.setDelay(0),
          },
          calm(1000),
          { label: "cut", run: () => void p.cut(), holdMs: 1500 },
          {
            label: "blackhole",
            run: () => p.setBlackhole(true),
            holdMs: 700,
            undo: () => p.setBlackhole(false),
          },
          calm(1500),
          {
            label: "refuse + cut",
            run: () => {
              p.setRefuse(true);
              p.cut();
            },
            holdMs: 800,
            undo: () => p.setRefuse(false),
          },
          calm(1500),
          { label: "server killed", run: kill, holdMs: 1200, undo: () => srv.restart() },
          calm(2000),
          {
            label: "delay 300 ms + cut",
            run: () => {
              p.setDelay(300);
              p.cut();
            },
            holdMs: 1500,
            undo: () => p.setDelay(0),
          },
          calm(1500),
          {
            label: "blackhole",
            run: () => p.setBlackhole(true),
            holdMs: 1500,
            undo: () => p.setBlackhole(false),
          },
          calm(1500),
          { label: "server killed", run: kill, holdMs: 600, undo: () => srv.restart() },
          {
            label: "delay 60 ms",
            run: () => p.setDelay(60),
            holdMs: 2500,
            undo: () => p.setDelay(0),
          },
          calm(1500),
        ]),
    });
    expectNoStaleReads(result, "chaos summary");
    const { report } = result;
    // The run really was a chaos run, in several processes, and the caches used both tiers.
    expect(new Set(fleet.map((i) => i.pid)).size).toBe(2);
    expect(result.faultsInjected).toBeGreaterThanOrEqual(10);
    expect(result.counts.kills).toBeGreaterThanOrEqual(2); // 2 per round (make soak repeats)
    expect(report.checked).toBeGreaterThan(2000);
    expect(result.sum("l1Hits")).toBeGreaterThan(0);
    expect(result.sum("l2Hits")).toBeGreaterThan(0);
    expect(result.sum("l2Errors")).toBeGreaterThan(0);
    expect(result.sum("busResets")).toBeGreaterThan(0);
  },
  soakTimeout(90_000),
);

test("the same scenario catches a cache that ignores the invalidation log", async () => {
  const broken: Instance[] = [];
  try {
    const result = await runStalenessScenario({
      server: chaos.server,
      proxy: chaos.proxy,
      seed: SEED + 1,
      maxStaleMs: MAX_STALE_MS,
      namespace: "deaf",
      local: 2,
      workers: 0,
      fleet: broken,
      wrapBus: (index, bus) => (index === 1 ? deafButConfirming(bus) : bus),
      faults: () => [calm(3500)],
    });
    console.log(`deaf-instance check (must find stale reads): ${result.summary}`);
    expect(result.report.stale.length).toBeGreaterThan(0);
    expect(result.report.stale.every((s) => s.read.instance === "B")).toBe(true);
  } finally {
    for (const inst of broken) await inst.close().catch(() => {});
  }
}, 30_000);
