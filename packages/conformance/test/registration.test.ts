import { describe, expect, test } from "bun:test";
import type { InvalidationBus, Store } from "@authcache/core";
import { type BusTestName, runBusSuite, runStoreSuite, type StoreTestName } from "../src/index.ts";

/** A runner that only records what the suite registers. */
function fakeRunner() {
  const tests: { name: string; fn: () => Promise<void> }[] = [];
  const skipped: { name: string; reason: string }[] = [];
  return {
    tests,
    skipped,
    test: (name: string, fn: () => Promise<void>) => {
      tests.push({ name, fn });
    },
    skipTest: (name: string, reason: string) => {
      skipped.push({ name, reason });
    },
  };
}

/** A store whose every call fails, counting closes. */
function brokenStore(closes: { n: number }): Store {
  const fail = async (): Promise<never> => {
    throw new Error("broken on purpose");
  };
  return {
    name: "broken",
    get: fail,
    getMany: fail,
    read: fail,
    set: fail,
    setIfFence: fail,
    deleteMany: fail,
    deleteOwner: fail,
    incr: fail,
    getCounter: fail,
    addMember: fail,
    hasMember: fail,
    countMembers: fail,
    close: async () => {
      closes.n += 1;
    },
  };
}

const first: StoreTestName = "basic: set then get round-trips; a missing key reads undefined";
const pauseTest: BusTestName =
  "pause: a paused follower neither delivers nor confirms, then catches up in order";

describe("conformance registration", () => {
  test("registers every test once, with unique names under the suite's name", () => {
    const runner = fakeRunner();
    runStoreSuite({ ...runner, name: "x", createStore: async () => brokenStore({ n: 0 }) });
    const names = runner.tests.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBeGreaterThan(30);
    expect(names.every((n) => n.startsWith("x store "))).toBe(true);
  });

  test("an unknown skip name or a reason that says nothing throws at registration", () => {
    const base = { ...fakeRunner(), name: "x", createStore: async () => brokenStore({ n: 0 }) };
    const unknown = { "no such test": "a long enough reason" } as unknown as Record<
      StoreTestName,
      string
    >;
    expect(() => runStoreSuite({ ...base, skip: unknown })).toThrow("unknown test");
    expect(() => runStoreSuite({ ...base, skip: { [first]: "n/a" } })).toThrow("must say why");
  });

  test("an opted-out test is reported through skipTest with its reason", () => {
    const runner = fakeRunner();
    const reason = "does not apply here; covered by another test";
    runStoreSuite({
      ...runner,
      name: "x",
      createStore: async () => brokenStore({ n: 0 }),
      skip: { [first]: reason },
    });
    expect(runner.skipped).toEqual([{ name: `x store ${first}`, reason }]);
    expect(runner.tests.some((t) => t.name.endsWith(first))).toBe(false);
  });

  test("cleanup runs as a last test without afterAll, and through afterAll when given", () => {
    const runner = fakeRunner();
    const opts = {
      name: "x",
      createStore: async () => brokenStore({ n: 0 }),
      cleanup: async () => {},
    };
    runStoreSuite({ ...runner, ...opts });
    expect(runner.tests.at(-1)?.name).toBe("x cleanup");
    const hooked = fakeRunner();
    const after: unknown[] = [];
    runStoreSuite({ ...hooked, ...opts, afterAll: (fn) => after.push(fn) });
    expect(after.length).toBe(1);
    expect(hooked.tests.some((t) => t.name === "x cleanup")).toBe(false);
  });

  test("a failing test still closes every store it opened, and reports the failure", async () => {
    const runner = fakeRunner();
    const closes = { n: 0 };
    runStoreSuite({ ...runner, name: "x", createStore: async () => brokenStore(closes) });
    const t = runner.tests.find((x) => x.name.endsWith(first));
    await expect(t?.fn()).rejects.toThrow("broken on purpose");
    expect(closes.n).toBe(1);
  });

  test("setup runs once, lazily, when the runner has no beforeAll", async () => {
    const runner = fakeRunner();
    let setups = 0;
    runStoreSuite({
      ...runner,
      name: "x",
      setup: async () => {
        setups += 1;
      },
      createStore: async () => brokenStore({ n: 0 }),
    });
    expect(setups).toBe(0);
    await runner.tests[0]?.fn().catch(() => {});
    await runner.tests[1]?.fn().catch(() => {});
    expect(setups).toBe(1);
  });

  test("a bus test whose hook is missing fails, naming the hook; the log is closed", async () => {
    const runner = fakeRunner();
    let logClosed = 0;
    runBusSuite({
      ...runner,
      name: "x",
      createLog: async () => ({
        createBus: async (): Promise<InvalidationBus> => {
          throw new Error("not needed");
        },
        close: async () => {
          logClosed += 1;
        },
      }),
    });
    const t = runner.tests.find((x) => x.name.endsWith(pauseTest));
    await expect(t?.fn()).rejects.toThrow("TestLog.pause()");
    expect(logClosed).toBe(1);
  });
});
