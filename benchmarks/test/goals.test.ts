/** The goals table judges a run from its own rows: met, missed, or not measured. */
import { describe, expect, test } from "bun:test";
import { judgeGoals } from "../src/lib/goals.ts";
import type { Row, ScenarioResult } from "../src/lib/types.ts";

const scenario = (id: string, rows: Row[]): ScenarioResult => ({
  id,
  title: id,
  metric: "m",
  better: "lower",
  baseline: "b",
  columns: [],
  rows,
  notes: [],
  missing: [],
  durationMs: 0,
});

const l2 = (authcacheReads: number, authcacheRatio: number): ScenarioResult =>
  scenario("l2-hit", [
    {
      case: "ioredis GET (raw)",
      backend: "redis",
      subject: "baseline",
      group: "l2-redis-64",
      value: 500,
      ratio: 1,
      cols: { concurrency: "64-way", "reads/s": 100_000 },
    },
    {
      case: "ioredis GET (raw)",
      backend: "redis",
      subject: "baseline",
      group: "l2-redis-1",
      value: 60,
      ratio: 1,
      cols: { concurrency: "sequential" },
    },
    {
      case: "authcache getAuthContext, L1 miss -> L2 hit",
      backend: "redis",
      subject: "authcache",
      group: "l2-redis-64",
      value: 600,
      ratio: 1.2,
      cols: { concurrency: "64-way", "reads/s": authcacheReads },
    },
    {
      case: "authcache getAuthContext, L1 miss -> L2 hit",
      backend: "redis",
      subject: "authcache",
      group: "l2-redis-1",
      value: 66,
      ratio: authcacheRatio,
      cols: { concurrency: "sequential" },
    },
    {
      case: "bentocache get, L1 miss -> L2 hit (default)",
      backend: "redis",
      subject: "peer",
      group: "l2-redis-64",
      value: 700,
      cols: { concurrency: "64-way", "reads/s": 80_000 },
    },
  ]);

const verdictOf = (results: ScenarioResult[], start: string) =>
  judgeGoals(results).find((g) => g.goal.startsWith(start));

describe("benchmark goals", () => {
  test("a row within its bound is met, one past it is not", () => {
    expect(verdictOf([l2(90_000, 1.1)], "L2 hit on Redis, 64-way")?.met).toBe(true);
    expect(verdictOf([l2(90_000, 1.1)], "L2 hit on Redis, sequential")?.met).toBe(true);
    expect(verdictOf([l2(84_000, 1.2)], "L2 hit on Redis, 64-way")?.met).toBe(false);
    expect(verdictOf([l2(84_000, 1.2)], "L2 hit on Redis, sequential")?.met).toBe(false);
  });

  test("beating the raw bound but not bentocache is not met", () => {
    const r = l2(90_000, 1.1);
    const bento = r.rows.find((x) => x.subject === "peer") as Row;
    (bento.cols as Record<string, number>)["reads/s"] = 95_000;
    expect(verdictOf([r], "L2 hit on Redis, 64-way")?.met).toBe(false);
  });

  test("the 64-way goal reads the paired per-round ratio when the run has it", () => {
    const r = l2(84_000, 1.1); // medians alone: 0.84x raw, not met
    const mine = r.rows.find((x) => x.subject === "authcache" && x.group === "l2-redis-64") as Row;
    const bento = r.rows.find((x) => x.subject === "peer") as Row;
    (mine.cols as Record<string, number>)["reads/s ÷ raw"] = 0.9;
    (bento.cols as Record<string, number>)["reads/s ÷ raw"] = 0.8;
    expect(verdictOf([r], "L2 hit on Redis, 64-way")?.met).toBe(true);
    (bento.cols as Record<string, number>)["reads/s ÷ raw"] = 0.95;
    expect(verdictOf([r], "L2 hit on Redis, 64-way")?.met).toBe(false);
  });

  test("a goal whose rows this run did not measure is reported as such, never met", () => {
    const v = verdictOf([l2(90_000, 1.1)], "Revocation propagation, Redis");
    expect(v).toEqual({
      goal: expect.any(String),
      measured: "not measured in this run",
      met: undefined,
    });
  });
});
