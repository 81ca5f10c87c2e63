import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { L1Cache } from "../src/l1-cache.ts";

describe("L1Cache", () => {
  test("rejects a non-positive or fractional maxEntries with a RangeError", () => {
    expect(() => new L1Cache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => new L1Cache({ maxEntries: -1 })).toThrow(RangeError);
    expect(() => new L1Cache({ maxEntries: 1.5 })).toThrow(/maxEntries/);
  });

  test("returns what was set until its deadline, then nothing", () => {
    const l1 = new L1Cache<string>({ maxEntries: 10 });
    l1.set("a", "A", 1_000, 0);
    expect(l1.get("a", 999)).toBe("A");
    expect(l1.get("a", 1_000)).toBeUndefined();
    expect(l1.size).toBe(0);
    expect(l1.expirations).toBe(1);
  });

  test("a deadline already past stores nothing and drops the previous value", () => {
    const l1 = new L1Cache<string>({ maxEntries: 10 });
    l1.set("a", "A", 100, 0);
    l1.set("a", "B", 50, 50);
    expect(l1.get("a", 51)).toBeUndefined();
    expect(l1.size).toBe(0);
  });

  test("delete, clear and deleteOwner remove exactly their entries", () => {
    const l1 = new L1Cache<number>({ maxEntries: 100 });
    l1.set("a", 1, 10, 0, ["u1", "j1"]);
    l1.set("b", 2, 10, 0, ["u1"]);
    l1.set("c", 3, 10, 0, ["u2", "j1"]);
    l1.set("d", 4, 10, 0);
    expect(l1.deleteOwner("u1")).toBe(2);
    expect(l1.get("a", 1)).toBeUndefined();
    expect(l1.get("b", 1)).toBeUndefined();
    expect(l1.get("c", 1)).toBe(3);
    expect(l1.deleteOwner("u1")).toBe(0);
    expect(l1.deleteOwner("j1")).toBe(1);
    expect(l1.delete("d")).toBe(true);
    expect(l1.delete("d")).toBe(false);
    l1.set("e", 5, 10, 0, ["x"]);
    l1.clear();
    expect(l1.size).toBe(0);
    expect(l1.deleteOwner("x")).toBe(0);
  });

  test("re-setting a key replaces its owner tags", () => {
    const l1 = new L1Cache<number>({ maxEntries: 10 });
    l1.set("a", 1, 10, 0, ["old"]);
    l1.set("a", 2, 10, 0, ["new"]);
    expect(l1.deleteOwner("old")).toBe(0);
    expect(l1.get("a", 1)).toBe(2);
    expect(l1.deleteOwner("new")).toBe(1);
  });

  test("a flood of one-hit keys does not displace a hot set", () => {
    const l1 = new L1Cache<number>({ maxEntries: 100 });
    const hot = Array.from({ length: 50 }, (_, i) => `hot${i}`);
    for (let round = 0; round < 20; round++) {
      for (const k of hot) if (l1.get(k, 0) === undefined) l1.set(k, 1, 1e12, 0);
    }
    let flood = 0;
    for (let i = 0; i < 20_000; i++) {
      const k = `flood${flood++}`;
      if (l1.get(k, 0) === undefined) l1.set(k, 1, 1e12, 0);
      // The hot set keeps being read at a modest rate during the flood.
      if (i % 10 === 0) l1.get(hot[(i / 10) % hot.length] ?? "", 0);
    }
    let kept = 0;
    for (const k of hot) if (l1.peek(k, 0) !== undefined) kept++;
    expect(kept).toBeGreaterThanOrEqual(45);
    expect(l1.size).toBeLessThanOrEqual(100);
    expect(l1.evictions).toBeGreaterThan(19_000);
  });

  test("property: never holds more than maxEntries", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(
          fc.record({
            op: fc.constantFrom("get", "set", "delete", "owner"),
            key: fc.integer({ min: 0, max: 80 }),
            ttl: fc.integer({ min: -5, max: 50 }),
          }),
          { maxLength: 400 },
        ),
        (max, ops) => {
          const l1 = new L1Cache<number>({ maxEntries: max });
          let now = 0;
          for (const { op, key, ttl } of ops) {
            now++;
            const k = `k${key}`;
            if (op === "get") l1.get(k, now);
            else if (op === "set") l1.set(k, key, now + ttl, now, [`o${key % 5}`]);
            else if (op === "delete") l1.delete(k);
            else l1.deleteOwner(`o${key % 5}`);
            if (l1.size > max) return false;
          }
          return true;
        },
      ),
    );
  });

  test("property: expired entries are never returned and do not accumulate", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 1_000 }),
            ttl: fc.integer({ min: 1, max: 20 }),
          }),
          { minLength: 1, maxLength: 600 },
        ),
        (ops) => {
          const l1 = new L1Cache<number>({ maxEntries: 10_000 });
          const model = new Map<string, number>();
          let now = 0;
          for (const { key, ttl } of ops) {
            now++;
            const k = `k${key}`;
            const v = l1.get(k, now);
            const deadline = model.get(k);
            if (v !== undefined && (deadline === undefined || deadline <= now)) return false;
            l1.set(k, key, now + ttl, now);
            model.set(k, now + ttl);
            // Writes sweep 2 entries each: the expired can never outnumber the live by much.
            let live = 0;
            for (const d of model.values()) if (d > now) live++;
            if (l1.size > live + 2 * 20 + 2) return false;
          }
          return true;
        },
      ),
    );
  });

  test("sweep removes expired entries incrementally, bounded by its budget", () => {
    const l1 = new L1Cache<number>({ maxEntries: 1_000 });
    for (let i = 0; i < 500; i++) l1.set(`k${i}`, i, 10, 0);
    const sizeBefore = l1.size;
    expect(l1.sweep(11, 100)).toBe(100);
    expect(l1.size).toBe(sizeBefore - 100);
    let rounds = 0;
    while (l1.size > 0 && rounds++ < 100) l1.sweep(11, 100);
    expect(l1.size).toBe(0);
  });
});
