/**
 * The bounded-staleness chaos scenario again, on a Valkey 8 server through the valkey-glide
 * adapter (three caches, one in another process), with a shorter fault schedule.
 */
import { expect, test } from "bun:test";
import {
  calm,
  chaosFixture,
  expectNoStaleReads,
  runStalenessScenario,
  soak,
  soakTimeout,
} from "../support/staleness-scenario.ts";

const MAX_STALE_MS = 1000;
const SEED = Number(process.env.AUTHCACHE_CHAOS_SEED ?? 20_260_101) + 7;
const chaos = chaosFixture("valkey");
const fleet = chaos.fleet;

test(
  "valkey-glide: three caches serve nothing staler than maxStaleMs through proxy faults and a server restart",
  async () => {
    const result = await runStalenessScenario({
      server: chaos.server,
      proxy: chaos.proxy,
      seed: SEED,
      maxStaleMs: MAX_STALE_MS,
      namespace: "chaos-valkey",
      adapter: "valkey",
      local: 2,
      workers: 1,
      fleet,
      faults: ({ proxy: p, kill, server: srv }) =>
        soak(() => [
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
        ]),
    });
    expectNoStaleReads(result, "chaos summary (valkey)");
    const { report } = result;
    expect(new Set(fleet.map((i) => i.pid)).size).toBe(2);
    expect(result.faultsInjected).toBeGreaterThanOrEqual(6);
    expect(report.checked).toBeGreaterThan(1000);
    expect(result.sum("l1Hits")).toBeGreaterThan(0);
    expect(result.sum("l2Hits")).toBeGreaterThan(0);
    expect(result.sum("l2Errors")).toBeGreaterThan(0);
  },
  soakTimeout(90_000),
);
