import { describe, expect, test } from "bun:test";
import type { Plan } from "../src/kind.ts";
import { MISS_RECORDS_MAX, MISS_WINDOW_MS, MissRecords } from "../src/miss-records.ts";
import type { Ticket } from "../src/tiers.ts";

function plan(key: string): Plan<unknown> {
  return { tag: "user", key, owners: [] } as unknown as Plan<unknown>;
}

function miss(key: string, at: number, fences: Partial<Ticket> = {}): Ticket {
  return {
    plan: plan(key),
    createdAt: at,
    stale: false,
    readOk: true,
    revoked: false,
    fence: 0,
    g: 0,
    tg: undefined,
    raw: undefined,
    readError: undefined,
    ...fences,
  };
}

const byKey = (key: string) => (t: { readonly plan: Plan<unknown> }) => t.plan.key === key;

describe("MissRecords", () => {
  test("a set is judged by the oldest kept miss's fences, refused after a matching invalidation, free once the misses age out", () => {
    const m = new MissRecords();
    m.add(miss("k", 0, { fence: 3, g: 2, tg: 5 }), 0);
    m.add(miss("k", 10, { fence: 4, g: 2, tg: 4 }), 10);
    expect(m.rule("k", 20)).toEqual({
      verdict: "accept",
      fences: { fence: 3, g: 2, tg: 4, readOk: true },
      l1Only: false,
    });
    m.markStale(byKey("other"));
    expect(m.rule("k", 20).verdict).toBe("accept");
    m.markStale(byKey("k"));
    expect(m.rule("k", 20)).toEqual({ verdict: "stale" });
    // A miss after the invalidation does not make the earlier ones forgotten ...
    m.add(miss("k", 30, { fence: 5 }), 30);
    expect(m.rule("k", 40)).toEqual({ verdict: "stale" });
    // ... until the last miss before the invalidation (at 10) ages out.
    expect(m.rule("k", 10 + MISS_WINDOW_MS).verdict).toBe("stale");
    expect(m.rule("k", 11 + MISS_WINDOW_MS)).toEqual({
      verdict: "accept",
      fences: { fence: 5, g: 0, tg: undefined, readOk: true },
      l1Only: false,
    });
    expect(m.rule("k", 31 + MISS_WINDOW_MS)).toEqual({
      verdict: "accept",
      fences: undefined,
      l1Only: false,
    });
  });

  test("a miss whose lookup overlapped an invalidation, a miss with no L2 read, a moved fence", () => {
    const m = new MissRecords();
    m.add({ ...miss("a", 0), stale: true }, 5);
    expect(m.rule("a", 5).verdict).toBe("stale");
    m.add(miss("b", 0), 0);
    m.add(miss("b", 1, { readOk: false }), 1);
    expect(m.rule("b", 2)).toMatchObject({ verdict: "accept", fences: { readOk: false } });
    m.add(miss("c", 0), 0);
    m.fenceMoved("c");
    expect(m.rule("c", 1).verdict).toBe("stale");
  });

  test("past the bound: a dropped entry's set is L1 only, refused once any invalidation is applied, forgotten after two windows", () => {
    const m = new MissRecords();
    m.add(miss("dropped", 0), 0);
    for (let i = 0; i < MISS_RECORDS_MAX; i++) m.add(miss(`k${i}`, 1), 1);
    expect(m.size).toBe(MISS_RECORDS_MAX);
    expect(m.dropped).toBe(1);
    expect(m.rule("dropped", 2)).toEqual({ verdict: "accept", fences: undefined, l1Only: true });
    m.markStale(byKey("unrelated"));
    expect(m.rule("dropped", 3)).toEqual({ verdict: "untracked" });
    // A new miss of the entry does not clear what the filter knows.
    m.add(miss("dropped", 4), 4);
    expect(m.rule("dropped", 5)).toEqual({ verdict: "untracked" });
    expect(m.rule("never-missed", 5).verdict).toBe("accept");
    expect(m.rule("dropped", 2 * MISS_WINDOW_MS + 1).verdict).toBe("accept");
  });

  test("a record dropped while known stale is refused even with no invalidation since", () => {
    const m = new MissRecords();
    m.add(miss("s", 0), 0);
    m.markStale(byKey("s"));
    for (let i = 0; i < MISS_RECORDS_MAX; i++) m.add(miss(`k${i}`, 1), 1);
    expect(m.rule("s", 2)).toEqual({ verdict: "untracked" });
  });

  test("sweep drops records whose last miss aged out, oldest first, within its budget", () => {
    const m = new MissRecords();
    for (let i = 0; i < 10; i++) m.add(miss(`k${i}`, i), i);
    m.sweep(MISS_WINDOW_MS + 4, 3);
    expect(m.size).toBe(7);
    m.sweep(MISS_WINDOW_MS + 4, 100);
    expect(m.size).toBe(6); // k0..k3 aged out (last miss more than the window ago)
    expect(m.dropped).toBe(0);
  });
});
