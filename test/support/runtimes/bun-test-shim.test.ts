import { describe, expect, test } from "bun:test";
import { expect as shimExpect } from "./bun-test-shim.ts";

/** The shim's expect must fail exactly where Bun's does, or a runtime run proves nothing. */
describe("bun-test-shim expect", () => {
  test("passing matchers pass", async () => {
    shimExpect(1).toBe(1);
    shimExpect({ a: 1, b: undefined }).toEqual({ a: 1 });
    shimExpect([1, { x: [2] }]).toEqual([1, { x: [2] }]);
    shimExpect(new TypeError("bad email")).toBeInstanceOf(TypeError);
    shimExpect(() => {
      throw new RangeError("option ttl");
    }).toThrow(/ttl/);
    shimExpect("abc").toMatch("b");
    shimExpect([1, 2]).toContain(2);
    shimExpect([1, 2]).toHaveLength(2);
    shimExpect(3).toBeGreaterThan(2);
    shimExpect(undefined).toBeUndefined();
    shimExpect(1).not.toBe(2);
    shimExpect({ a: { b: 1, c: 2 } }).toMatchObject({ a: { b: 1 } });
    await shimExpect(Promise.reject(new Error("boom"))).rejects.toThrow("boom");
    await shimExpect(Promise.resolve(5)).resolves.toBe(5);
    await shimExpect(Promise.reject(new TypeError("x"))).rejects.toBeInstanceOf(TypeError);
  });

  test("failing matchers throw", async () => {
    const fails: (() => unknown)[] = [
      () => shimExpect(1).toBe(2),
      () => shimExpect({ a: 1 }).toEqual({ a: 2 }),
      () => shimExpect({ a: 1 }).toEqual({ a: 1, b: 2 }),
      () => shimExpect([1]).toEqual([1, 2]),
      () => shimExpect(1).not.toBe(1),
      () => shimExpect(new Error("x")).toBeInstanceOf(TypeError),
      () => shimExpect(() => {}).toThrow(),
      () =>
        shimExpect(() => {
          throw new Error("other");
        }).toThrow(/ttl/),
      () => shimExpect("abc").toMatch(/z/),
      () => shimExpect(1).toBeUndefined(),
      () => shimExpect(2).toBeGreaterThan(2),
      () => shimExpect([1]).toHaveLength(2),
    ];
    for (const f of fails) expect(f).toThrow();
    await expect(shimExpect(Promise.resolve(1)).rejects.toThrow()).rejects.toThrow();
    await expect(shimExpect(Promise.reject(new Error("e"))).resolves.toBe(1)).rejects.toThrow();
    await expect(shimExpect(Promise.resolve(1)).resolves.toBe(2)).rejects.toThrow();
  });
});
