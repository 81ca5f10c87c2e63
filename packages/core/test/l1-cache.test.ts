import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { L1Cache, PAIR_SPACES } from "../src/l1-cache.ts";

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

  describe("pair index", () => {
    test("a group grows from one pair to several and back: each pair is found, each removal removes one", () => {
      const l1 = new L1Cache<string>({ maxEntries: 100 });
      l1.setPair(0, "ada", "j1", "one", 10, 0, ["t1"]);
      // The same sub in another group, and another space's same pair, are other entries.
      l1.setPair(0, "bob", "j1", "bob", 10, 0);
      l1.setPair(1, "ada", "j1", "space 1", 10, 0);
      l1.setPair(0, "ada", "j2", "two", 10, 0, ["t2"]);
      l1.setPair(0, "ada", "j3", "three", 10, 0);
      expect(l1.size).toBe(5);
      expect(l1.getPair(0, "ada", "j1", 1)).toBe("one");
      expect(l1.getPair(0, "ada", "j2", 1)).toBe("two");
      expect(l1.getPair(0, "ada", "j4", 1)).toBeUndefined();
      expect(l1.deletePair(0, "ada", "j3")).toBe(true);
      expect(l1.deleteOwner("t2")).toBe(1);
      // One pair left in the group: still found, and only it.
      expect(l1.getPair(0, "ada", "j1", 1)).toBe("one");
      expect(l1.getPair(0, "ada", "j2", 1)).toBeUndefined();
      expect(l1.deletePair(0, "ada", "j2")).toBe(false);
      l1.setPair(0, "ada", "j1", "one again", 10, 1, ["t1"]);
      expect(l1.getPair(0, "ada", "j1", 2)).toBe("one again");
      expect(l1.deleteOwner("t1")).toBe(1);
      expect(l1.getPair(0, "ada", "j1", 2)).toBeUndefined();
      expect(l1.size).toBe(2);
      expect(l1.getPair(0, "bob", "j1", 2)).toBe("bob");
      expect(l1.getPair(1, "ada", "j1", 2)).toBe("space 1");
      // Expired pairs of a group go one by one, through a hit or a sweep.
      l1.setPair(0, "cy", "a", "a", 5, 2);
      l1.setPair(0, "cy", "b", "b", 50, 2);
      expect(l1.getPair(0, "cy", "a", 6)).toBeUndefined();
      expect(l1.getPair(0, "cy", "b", 6)).toBe("b");
      expect(l1.sweep(60, 100)).toBe(3);
      expect(l1.size).toBe(0);
    });

    test("pairs, flat keys and other spaces never meet, whatever the strings", () => {
      const l1 = new L1Cache<string>({ maxEntries: 100 });
      l1.set("ab", "flat ab", 10, 0);
      l1.set("a", "flat a", 10, 0);
      l1.setPair(0, "a", "b", "pair a,b", 10, 0);
      l1.setPair(0, "ab", "", "pair ab,''", 10, 0);
      l1.setPair(0, "", "ab", "pair '',ab", 10, 0);
      l1.setPair(1, "a", "b", "space 1 a,b", 10, 0);
      expect(l1.size).toBe(6);
      expect(l1.get("ab", 1)).toBe("flat ab");
      expect(l1.get("a", 1)).toBe("flat a");
      expect(l1.getPair(0, "a", "b", 1)).toBe("pair a,b");
      expect(l1.getPair(0, "ab", "", 1)).toBe("pair ab,''");
      expect(l1.getPair(0, "", "ab", 1)).toBe("pair '',ab");
      expect(l1.getPair(1, "a", "b", 1)).toBe("space 1 a,b");
      expect(l1.getPair(2, "a", "b", 1)).toBeUndefined();
      expect(l1.getPair(0, "a", "", 1)).toBeUndefined();
      expect(l1.deletePair(0, "a", "b")).toBe(true);
      expect(l1.deletePair(0, "a", "b")).toBe(false);
      expect(l1.getPair(1, "a", "b", 1)).toBe("space 1 a,b");
      expect(l1.delete("ab")).toBe(true);
      expect(l1.getPair(0, "ab", "", 1)).toBe("pair ab,''");
      expect(l1.size).toBe(4);
    });

    test("an unknown pair space is a RangeError on set and a miss on get", () => {
      const l1 = new L1Cache<number>({ maxEntries: 10 });
      expect(() => l1.setPair(-1, "a", "b", 1, 10, 0)).toThrow(RangeError);
      expect(() => l1.setPair(PAIR_SPACES, "a", "b", 1, 10, 0)).toThrow(RangeError);
      expect(() => l1.setPair(0.5, "a", "b", 1, 10, 0)).toThrow(/pair space/);
      expect(l1.getPair(PAIR_SPACES, "a", "b", 0)).toBeUndefined();
      expect(l1.deletePair(-1, "a", "b")).toBe(false);
      expect(l1.size).toBe(0);
    });

    test("a pair expires at its deadline; a past deadline drops the previous value", () => {
      const l1 = new L1Cache<string>({ maxEntries: 10 });
      l1.setPair(0, "e", "j", "A", 1_000, 0);
      expect(l1.getPair(0, "e", "j", 999)).toBe("A");
      expect(l1.peekPair(0, "e", "j", 999)).toBe("A");
      expect(l1.getPair(0, "e", "j", 1_000)).toBeUndefined();
      expect(l1.size).toBe(0);
      expect(l1.expirations).toBe(1);
      l1.setPair(0, "e", "j", "B", 100, 0);
      l1.setPair(0, "e", "j", "C", 50, 50);
      expect(l1.getPair(0, "e", "j", 51)).toBeUndefined();
      expect(l1.size).toBe(0);
    });

    test("owner tags drop pair and flat entries together; re-setting a pair replaces its tags", () => {
      const l1 = new L1Cache<number>({ maxEntries: 100 });
      l1.setPair(0, "u1", "j1", 1, 10, 0, ["U1", "J1"]);
      l1.setPair(0, "u1", "j2", 2, 10, 0, ["U1", "J2"]);
      l1.set("flat-u1", 3, 10, 0, ["U1"]);
      l1.setPair(0, "u2", "j1", 4, 10, 0, ["U2", "J1"]);
      expect(l1.deleteOwner("U1")).toBe(3);
      expect(l1.getPair(0, "u1", "j1", 1)).toBeUndefined();
      expect(l1.getPair(0, "u1", "j2", 1)).toBeUndefined();
      expect(l1.get("flat-u1", 1)).toBeUndefined();
      expect(l1.getPair(0, "u2", "j1", 1)).toBe(4);
      expect(l1.deleteOwner("J1")).toBe(1);
      expect(l1.size).toBe(0);
      l1.setPair(0, "a", "b", 1, 10, 0, ["old"]);
      l1.setPair(0, "a", "b", 2, 10, 0, ["new"]);
      expect(l1.deleteOwner("old")).toBe(0);
      expect(l1.getPair(0, "a", "b", 1)).toBe(2);
      expect(l1.deleteOwner("new")).toBe(1);
      l1.setPair(0, "a", "b", 1, 10, 0, ["x"]);
      l1.clear();
      expect(l1.size).toBe(0);
      expect(l1.deleteOwner("x")).toBe(0);
      expect(l1.getPair(0, "a", "b", 1)).toBeUndefined();
    });

    test("pairs are evicted under the shared bound, and a hot pair set survives a flood", () => {
      const l1 = new L1Cache<number>({ maxEntries: 100 });
      const hot = Array.from({ length: 50 }, (_, i) => `hot${i}`);
      for (let round = 0; round < 20; round++) {
        for (const k of hot)
          if (l1.getPair(0, k, "j", 0) === undefined) l1.setPair(0, k, "j", 1, 1e12, 0);
      }
      for (let i = 0; i < 20_000; i++) {
        // Flat and pair one-hit keys alternate; the flood's pairs share one group.
        if (i % 2 === 0) {
          if (l1.get(`flood${i}`, 0) === undefined) l1.set(`flood${i}`, 1, 1e12, 0);
        } else if (l1.getPair(0, "flood", `j${i}`, 0) === undefined) {
          l1.setPair(0, "flood", `j${i}`, 1, 1e12, 0, [`o${i % 7}`]);
        }
        if (i % 10 === 0) l1.getPair(0, hot[(i / 10) % hot.length] ?? "", "j", 0);
        if (l1.size > 100) throw new Error(`size ${l1.size} above the bound`);
      }
      let kept = 0;
      for (const k of hot) if (l1.peekPair(0, k, "j", 0) !== undefined) kept++;
      expect(kept).toBeGreaterThanOrEqual(45);
      expect(l1.evictions).toBeGreaterThan(19_000);
      // Whatever is left of the flood is still reachable through its owner tags, once.
      let viaOwners = 0;
      for (let o = 0; o < 7; o++) viaOwners += l1.deleteOwner(`o${o}`);
      let floodLeft = 0;
      for (let i = 1; i < 20_000; i += 2)
        if (l1.peekPair(0, "flood", `j${i}`, 0) !== undefined) floodLeft++;
      expect(floodLeft).toBe(0);
      expect(viaOwners).toBeLessThanOrEqual(100 - kept);
    });

    test("sweep removes expired pairs and flat entries alike", () => {
      const l1 = new L1Cache<number>({ maxEntries: 1_000 });
      for (let i = 0; i < 200; i++) l1.set(`k${i}`, i, 10, 0);
      for (let i = 0; i < 300; i++) l1.setPair(i % 3, `g${i % 17}`, `s${i}`, i, 10, 0);
      l1.setPair(0, "live", "x", 1, 1_000, 0);
      expect(l1.size).toBe(501);
      expect(l1.sweep(11, 150)).toBe(150);
      expect(l1.size).toBe(351);
      let rounds = 0;
      while (l1.size > 1 && rounds++ < 100) l1.sweep(11, 100);
      expect(l1.size).toBe(1);
      expect(l1.getPair(0, "live", "x", 11)).toBe(1);
      expect(l1.expirations).toBe(500);
    });

    test("property: flat keys and pairs behave like a model keyed by (space, group, sub)", () => {
      // Short strings over a tiny alphabet so joined forms collide often ("a"+"b" = "ab"+"").
      const str = fc.constantFrom("", "a", "b", "ab", "a|b", "1:a");
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              op: fc.constantFrom("get", "set", "delete", "owner"),
              space: fc.constantFrom(-1, 0, 1),
              group: str,
              sub: str,
              ttl: fc.integer({ min: -2, max: 30 }),
            }),
            { minLength: 20, maxLength: 300 },
          ),
          (ops) => {
            // Large enough that nothing is evicted: every live entry must be found.
            const l1 = new L1Cache<number>({ maxEntries: 1_000 });
            const model = new Map<string, { v: number; deadline: number; owner: string }>();
            let now = 0;
            for (const [n, { op, space, group, sub, ttl }] of ops.entries()) {
              now++;
              const id = JSON.stringify([space, group, sub]);
              const owner = `o${(group.length + sub.length) % 3}`;
              const m = model.get(id);
              const expect = m !== undefined && m.deadline > now ? m.v : undefined;
              if (op === "get") {
                const got =
                  space < 0 ? l1.get(group + sub, now) : l1.getPair(space, group, sub, now);
                // Flat keys are group + sub: model them by that string alone.
                if (space >= 0 && got !== expect) return false;
              } else if (op === "set") {
                if (space < 0) {
                  l1.set(group + sub, n, now + ttl, now, [owner]);
                } else {
                  l1.setPair(space, group, sub, n, now + ttl, now, [owner]);
                  if (ttl > 0) model.set(id, { v: n, deadline: now + ttl, owner });
                  else model.delete(id);
                }
              } else if (op === "delete") {
                if (space < 0) l1.delete(group + sub);
                else {
                  l1.deletePair(space, group, sub);
                  model.delete(id);
                }
              } else {
                l1.deleteOwner(owner);
                for (const [k, e] of model) if (e.owner === owner) model.delete(k);
              }
            }
            for (const [id, e] of model) {
              const [space, group, sub] = JSON.parse(id) as [number, string, string];
              const want = e.deadline > now ? e.v : undefined;
              if (l1.peekPair(space, group, sub, now) !== want) return false;
            }
            return true;
          },
        ),
      );
    });

    test("property: with pairs and flat keys mixed, never above maxEntries, nothing expired returned or piling up", () => {
      fc.assert(
        fc.property(
          // Small bounds test the bound; the large one lets expired entries show if they pile up.
          fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant(10_000)),
          fc.array(
            fc.record({
              op: fc.constantFrom("get", "set", "set", "delete", "owner"),
              pair: fc.boolean(),
              key: fc.integer({ min: 0, max: 1_000 }),
              ttl: fc.integer({ min: -5, max: 20 }),
            }),
            { minLength: 300, maxLength: 600 },
          ),
          (max, ops) => {
            const l1 = new L1Cache<number>({ maxEntries: max });
            // Deadlines of what may still be held (an upper bound: evictions are not modelled).
            const deadlines = new Map<string, number>();
            let now = 0;
            for (const { op, pair, key, ttl } of ops) {
              now++;
              const g = `g${key % 7}`;
              const s = `s${key}`;
              const id = `${pair ? "p" : "f"}${key}`;
              if (op === "get") {
                // The value is the deadline, so a returned value says whether it had expired.
                const v = pair ? l1.getPair(0, g, s, now) : l1.get(g + s, now);
                if (v !== undefined && v <= now) return false;
              } else if (op === "set") {
                if (pair) l1.setPair(0, g, s, now + ttl, now + ttl, now, [`o${key % 5}`]);
                else l1.set(g + s, now + ttl, now + ttl, now, [`o${key % 5}`]);
                deadlines.set(id, now + ttl);
              } else if (op === "delete") {
                if (pair) l1.deletePair(0, g, s);
                else l1.delete(g + s);
                deadlines.delete(id);
              } else l1.deleteOwner(`o${key % 5}`);
              if (l1.size > max) return false;
              let live = 0;
              for (const d of deadlines.values()) if (d > now) live++;
              // Writes sweep 2 entries each: the expired cannot outnumber the live by much.
              if (l1.size > live + 2 * 20 + 2) return false;
            }
            return true;
          },
        ),
      );
    });
  });
});
