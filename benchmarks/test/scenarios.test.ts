/**
 * Every scenario at its "smoke" size, with real servers: proves the scenarios still run and
 * that what they count is right (no misses, one loader call per burst, nothing lost, nothing
 * left cached). No timing is asserted anywhere.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { Row, ScenarioResult } from "../src/lib/types.ts";
import { runScenarios } from "../src/runner.ts";
import { scenarios } from "../src/scenarios/index.ts";

let results: Map<string, ScenarioResult>;

beforeAll(async () => {
  const out = await runScenarios({
    size: "smoke",
    pin: { mode: "none" },
    scenarios,
    log: () => {},
  });
  results = new Map(out.results.map((r) => [r.id, r]));
}, 120_000);

const get = (id: string): ScenarioResult => {
  const r = results.get(id);
  if (!r) throw new Error(`scenario ${id} did not report`);
  return r;
};
const ours = (r: ScenarioResult): Row[] => r.rows.filter((x) => x.subject === "authcache");
const col = (row: Row, name: string): string | number | undefined => row.cols?.[name];

describe("benchmark scenarios (smoke size)", () => {
  test("every scenario ran, measured authcache, and left nothing unmeasured", () => {
    expect(results.size).toBe(scenarios.length);
    for (const s of scenarios) {
      const r = get(s.id);
      expect({ id: s.id, missing: r.missing }).toEqual({ id: s.id, missing: [] });
      expect(ours(r).length).toBeGreaterThan(0);
      for (const row of r.rows) expect(Number.isFinite(row.value)).toBe(true);
    }
  });

  test("L1 hit: one authcache row per backend plus L1Cache, and no misses anywhere", () => {
    const r = get("l1-hit");
    const backends = new Set(ours(r).map((x) => x.backend));
    expect([...backends].sort()).toEqual(["-", "libsql", "memory", "redis", "valkey"]);
    for (const row of r.rows)
      expect({ row: `${row.case} [${row.backend}]`, misses: col(row, "misses") }).toEqual({
        row: `${row.case} [${row.backend}]`,
        misses: 0,
      });
    expect(r.rows.filter((x) => x.subject === "peer").length).toBe(5);
  });

  test("hit ratio: L1Cache and lru-cache replay the same traces and stay within bounds", () => {
    const r = get("hit-ratio");
    expect(ours(r).length).toBe(4);
    for (const row of r.rows) {
      expect(row.value).toBeGreaterThanOrEqual(0);
      expect(row.value).toBeLessThanOrEqual(100);
      expect(col(row, "Zipf accesses")).toBe(5_000);
    }
  });

  test("L2 hit: every read of every subject found its key", () => {
    const r = get("l2-hit");
    expect(ours(r).length).toBe(8); // 4 backends x (sequential, 64-way)
    for (const row of r.rows)
      expect({ row: `${row.case} [${row.backend}]`, misses: col(row, "misses") }).toEqual({
        row: `${row.case} [${row.backend}]`,
        misses: 0,
      });
    // Every non-baseline row is paired per round with its raw read: latency and throughput.
    for (const row of ours(r)) {
      expect(typeof row.ratio).toBe("number");
      expect(typeof col(row, "reads/s ÷ raw")).toBe("number");
    }
  });

  test("cold miss: authcache runs the loader once per burst and answers everyone right", () => {
    const r = get("cold-miss");
    const base = r.rows.find((x) => x.subject === "baseline");
    expect(base && col(base, "max loader calls")).toBe(100);
    expect(ours(r).length).toBe(4);
    for (const row of ours(r)) {
      expect(col(row, "max loader calls")).toBe(1);
      expect(col(row, "wrong answers")).toBe(0);
    }
  });

  test("propagation: no revocation lost, and the other instance refuses every revoked token", () => {
    const r = get("propagation");
    expect(ours(r).length).toBe(4);
    for (const row of r.rows) expect(col(row, "lost")).toBe(0);
    for (const row of ours(r)) expect(col(row, "refused by B")).toBe(col(row, "messages"));
  });

  test("gateway: no failed request, and a warm cache spares the database", () => {
    const r = get("gateway");
    for (const row of r.rows) expect(col(row, "non-2xx/errors")).toBe(0);
    const cold = r.rows.find((x) => x.case.includes("cold"));
    const warm = ours(r)[0];
    expect(Number(cold && col(cold, "DB round trips/request"))).toBeGreaterThanOrEqual(1);
    expect(Number(warm && col(warm, "DB round trips/request"))).toBeLessThan(
      Number(cold && col(cold, "DB round trips/request")),
    );
  });

  test("invalidation: the SCAN baseline deletes the 5 keys and authcache leaves none cached", () => {
    const r = get("invalidation");
    for (const row of r.rows.filter((x) => x.subject === "baseline"))
      expect(col(row, "check")).toBe("5 deleted");
    expect(ours(r).length).toBe(8); // 4 backends x 2 sizes
    for (const row of ours(r)) expect(col(row, "check")).toBe("0 left");
  });
});
