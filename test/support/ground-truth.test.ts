import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { canonical, checkStaleness, GroundTruth } from "./ground-truth.ts";

const MAX_STALE = 1000;

/** A history where `role:a` goes admin → member: written at 100, invalidated 110..150. */
function roleChange(): GroundTruth {
  const gt = new GroundTruth(() => 0);
  gt.write("role:a", "admin", 0);
  gt.write("role:a", "member", 100);
  gt.invalidating(["role:a"], 110).resolved(150);
  return gt;
}

describe("ground-truth checker", () => {
  test("a read of the current value is never stale", () => {
    const gt = roleChange();
    gt.read("role:a", "member", 5000, 5001, "A");
    const r = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
    expect(r).toMatchObject({ reads: 1, checked: 1, unresolvedInvalidations: 0 });
    expect(r.stale).toEqual([]);
    expect(r.foreign).toEqual([]);
  });

  test("an old value read within maxStaleMs after the invalidation resolved is allowed", () => {
    const gt = roleChange();
    gt.read("role:a", "admin", 120, 121, "A"); // before it resolved
    gt.read("role:a", "admin", 150 + MAX_STALE, 150 + MAX_STALE + 3, "B"); // exactly at the bound
    const r = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
    expect(r.stale).toHaveLength(0);
    expect(r.maxServedAfterInvalidationMs).toBe(MAX_STALE);
  });

  test("it catches an old value read after the bound", () => {
    const gt = roleChange();
    gt.read("role:a", "admin", 150 + MAX_STALE + 1, 150 + MAX_STALE + 2, "C");
    const r = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
    expect(r.stale).toHaveLength(1);
    expect(r.stale[0]?.read.instance).toBe("C");
    expect(r.stale[0]?.lateByMs).toBe(1);
  });

  test("the read's start time is what counts, not its end", () => {
    const gt = roleChange();
    // Started inside the bound, finished far outside it (slow L2): allowed.
    gt.read("role:a", "admin", 1100, 9000, "A");
    expect(checkStaleness(gt.history(), { maxStaleMs: MAX_STALE }).stale).toHaveLength(0);
  });

  test("with no invalidation after the write there is no promise (and nothing pending)", () => {
    const gt = new GroundTruth();
    gt.write("u", { active: true }, 0);
    gt.write("u", { active: false }, 100);
    gt.read("u", { active: true }, 10_000, 10_001, "A");
    const r = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
    expect(r.stale).toHaveLength(0);
  });

  test("an invalidation that started before the write does not clear its predecessor", () => {
    const gt = new GroundTruth();
    gt.write("u", 1, 0);
    gt.invalidating(["u"], 90).resolved(95);
    gt.write("u", 2, 100);
    gt.read("u", 1, 5000, 5001, "A");
    expect(checkStaleness(gt.history(), { maxStaleMs: MAX_STALE }).stale).toHaveLength(0);
    // ...but the next one that starts after it does.
    gt.invalidating(["u"], 200).resolved(210);
    expect(checkStaleness(gt.history(), { maxStaleMs: MAX_STALE }).stale).toHaveLength(1);
  });

  test("an unresolved invalidation gives no deadline and is reported", () => {
    const gt = new GroundTruth();
    gt.write("u", 1, 0);
    gt.write("u", 2, 100);
    const pending = gt.invalidating(["u"], 100);
    pending.failed();
    gt.read("u", 1, 5000, 5001, "A");
    const r = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
    expect(r.stale).toHaveLength(0);
    expect(r.unresolvedInvalidations).toBe(1);
    expect(gt.history().invalidations[0]?.attempts).toBe(2);
  });

  test("the earliest resolving invalidation sets the deadline", () => {
    const gt = new GroundTruth();
    gt.write("ctx:a:j", "active", 0);
    gt.write("ctx:a:j", "revoked", 100);
    gt.invalidating(["ctx:a:j"], 101).resolved(5000); // slow retry path
    gt.invalidating(["ctx:a:j", "ctx:a:k"], 102).resolved(200); // a user-wide one, fast
    gt.read("ctx:a:j", "active", 1201, 1202, "A");
    const r = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
    expect(r.stale).toHaveLength(1);
    expect(r.stale[0]?.lateByMs).toBe(1);
  });

  test("a value that comes back is fresh again once rewritten, stale in between", () => {
    const gt = new GroundTruth();
    gt.write("role", "admin", 0);
    gt.write("role", "member", 100);
    gt.invalidating(["role"], 100).resolved(120);
    gt.write("role", "admin", 5000);
    gt.invalidating(["role"], 5000).resolved(5010);
    gt.read("role", "admin", 3000, 3001, "A"); // member was current: stale
    gt.read("role", "admin", 4999, 5001, "B"); // raced with the rewrite, ended after it: fine
    gt.read("role", "admin", 9000, 9001, "C"); // current again: fine
    gt.read("role", "member", 5500, 5501, "D"); // member superseded at 5000, resolved 5010: fine
    gt.read("role", "member", 6011, 6012, "E"); // past 5010 + 1000: stale
    const r = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
    expect(r.stale.map((s) => s.read.instance).sort()).toEqual(["A", "E"]);
  });

  test("a value the entity never held is foreign (another user's data), misses are ignored", () => {
    const gt = new GroundTruth();
    gt.write("user:a", { email: "a" }, 0);
    gt.write("user:b", { email: "b" }, 0);
    gt.write("user:c", { email: "c" }, 1000);
    gt.read("user:a", { email: "b" }, 10, 11, "A");
    gt.read("user:a", undefined, 10, 11, "A");
    gt.read("user:c", { email: "c" }, 10, 11, "B"); // written after the read ended
    gt.read("user:zzz", { email: "a" }, 10, 11, "C"); // never written
    const r = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
    expect(r).toMatchObject({ reads: 4, checked: 3 });
    expect(r.foreign.map((f) => f.instance)).toEqual(["A", "B", "C"]);
  });

  test("canonical form ignores key order and undefined fields", () => {
    expect(canonical({ b: 1, a: [{ y: 2, x: undefined, w: null }] })).toBe(
      canonical({ a: [{ w: null, y: 2 }], b: 1 }),
    );
    expect(canonical(null)).toBe("null");
    expect(canonical(undefined)).toBe("undefined");
  });

  test("property: on random histories, exactly the reads past the deadline are flagged", () => {
    // Independent oracle: one entity, values are version numbers (unique), so the expected
    // verdict of each read is a direct comparison with that version's deadline.
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 1, max: 500 }),
            startDelay: fc.integer({ min: 0, max: 50 }),
            resolveDelay: fc.integer({ min: 0, max: 3000 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 8000 }), pick: fc.nat() }), {
          maxLength: 30,
        }),
        (changes, reads) => {
          const gt = new GroundTruth();
          gt.write("e", 0, 0);
          const written = [0];
          const invalidations: { start: number; end: number }[] = [];
          let t = 0;
          for (const [i, c] of changes.entries()) {
            t += c.gap;
            gt.write("e", i + 1, t);
            written.push(t);
            const s = t + c.startDelay;
            gt.invalidating(["e"], s).resolved(s + c.resolveDelay);
            invalidations.push({ start: s, end: s + c.resolveDelay });
          }
          let expected = 0;
          for (const r of reads) {
            const version = r.pick % written.length;
            const w = written[version] ?? 0;
            const at = Math.max(r.at, w); // a read cannot see a version before it exists
            gt.read("e", version, at, at + 1, "X");
            // Any invalidation that started once this version was replaced clears it.
            const replacedAt = written[version + 1];
            const ends = invalidations
              .filter((inv) => replacedAt !== undefined && inv.start >= replacedAt)
              .map((inv) => inv.end);
            const deadline = ends.length > 0 ? Math.min(...ends) + MAX_STALE : Infinity;
            if (at > deadline) expected += 1;
          }
          const report = checkStaleness(gt.history(), { maxStaleMs: MAX_STALE });
          expect(report.stale.length).toBe(expected);
          expect(report.foreign.length).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
