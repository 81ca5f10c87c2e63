import { describe, expect, test } from "bun:test";
import { SingleFlight } from "../src/singleflight.ts";

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

  test("detach: callers so far keep the detached call, later callers of its key start a new one", async () => {
    const sf = new SingleFlight<string, { user: string }>();
    let runs = 0;
    const releases: ((v: string) => void)[] = [];
    const fn = () => {
      runs++;
      return new Promise<string>((r) => {
        releases.push(r);
      });
    };
    const early = sf.run("k", fn, { user: "u" });
    const joined = sf.run("k", fn, { user: "u" });
    const other = sf.run("o", fn, { user: "v" });
    const untagged = sf.run("n", fn);
    expect(sf.detach((t) => t.user === "u")).toBe(1);
    expect(sf.size).toBe(2);
    const late = sf.run("k", fn, { user: "u" });
    expect(runs).toBe(4);
    releases[0]?.("old");
    releases[3]?.("new");
    releases[1]?.("other");
    releases[2]?.("untagged");
    expect(await Promise.all([early, joined, late, other, untagged])).toEqual([
      "old",
      "old",
      "new",
      "other",
      "untagged",
    ]);
    // The detached call settling does not remove its successor ...
    expect(sf.size).toBe(0);
    const again = sf.run("k", fn, { user: "u" });
    const p = sf.run("k", fn, { user: "u" });
    releases[4]?.("x");
    expect(await Promise.all([again, p])).toEqual(["x", "x"]);
    expect(runs).toBe(5);
  });

  test("a detached call that settles after its successor started leaves the successor joinable", async () => {
    const sf = new SingleFlight<number, string>();
    const releases: ((v: number) => void)[] = [];
    const fn = () =>
      new Promise<number>((r) => {
        releases.push(r);
      });
    const first = sf.run("k", fn, "k");
    sf.detach(() => true);
    const second = sf.run("k", fn, "k");
    releases[0]?.(1);
    expect(await first).toBe(1);
    expect(sf.size).toBe(1);
    expect(sf.run("k", fn, "k")).toBe(second);
    releases[1]?.(2);
    expect(await second).toBe(2);
  });

  test("detachStartedBefore: only a call older than the given time is detached", async () => {
    const clock = { t: 100 };
    const sf = new SingleFlight<number>(() => clock.t);
    const releases: ((v: number) => void)[] = [];
    const fn = () =>
      new Promise<number>((r) => {
        releases.push(r);
      });
    const first = sf.run("k", fn);
    clock.t = 200;
    expect(sf.detachStartedBefore("k", 100)).toBe(false);
    expect(sf.run("k", fn)).toBe(first);
    expect(sf.detachStartedBefore("k", 101)).toBe(true);
    expect(sf.detachStartedBefore("absent", 1_000)).toBe(false);
    const second = sf.run("k", fn);
    expect(second).not.toBe(first);
    releases[0]?.(1);
    releases[1]?.(2);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
  });
});
