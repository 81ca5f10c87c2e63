import { describe, expect, test } from "bun:test";
import { SingleFlight } from "../src/index.ts";

describe("SingleFlight", () => {
  test("concurrent calls of one key share one run; other keys run separately", async () => {
    const sf = new SingleFlight<number>();
    let runs = 0;
    let release: (v: number) => void = () => {};
    const fn = () => {
      runs++;
      return new Promise<number>((r) => {
        release = r;
      });
    };
    const a = sf.run("k", fn);
    const b = sf.run("k", fn);
    expect(sf.size).toBe(1);
    release(5);
    expect(await Promise.all([a, b])).toEqual([5, 5]);
    expect(runs).toBe(1);
    expect(sf.size).toBe(0);
    await sf.run("other", async () => 1);
    await sf.run("k", async () => 2);
    expect(sf.size).toBe(0);
  });

  test("a failure reaches every waiter and the key can run again", async () => {
    const sf = new SingleFlight<number>();
    const a = sf.run("k", async () => {
      throw new Error("x");
    });
    const b = sf.run("k", async () => 1);
    await expect(a).rejects.toThrow("x");
    await expect(b).rejects.toThrow("x");
    expect(await sf.run("k", async () => 3)).toBe(3);
    const sync = sf.run("s", () => {
      throw new Error("sync");
    });
    await expect(sync).rejects.toThrow("sync");
  });
});
