import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { processPeer } from "../src/fleet/peers.ts";
import { type FleetTestName, runFleetSuite } from "../src/index.ts";

const worker = (...args: string[]) => [
  process.execPath,
  join(import.meta.dir, "fixtures", "stdio-worker.ts"),
  ...args,
];

describe("fleet protocol (serveCacheOverStdio and its peer)", () => {
  test("calls return results, undefined and errors; close ends the worker", async () => {
    const peer = await processPeer("W", worker());
    expect(await peer.call("echo", { a: [1, "x"] })).toEqual({ a: [1, "x"] });
    expect(await peer.call("nothing")).toBeUndefined();
    await expect(peer.call("fail")).rejects.toThrow("W: failed on purpose");
    await expect(peer.call("nope")).rejects.toThrow("W: no method nope");
    expect(await peer.stats()).toEqual({ busState: "up", closed: 0 });
    expect(await peer.call("close")).toBe(true); // cache.close(), then onClose, then the reply
    await peer.close();
    await expect(peer.call("echo", 1)).rejects.toThrow("W: the worker has exited");
  });

  test("a worker that exits before it is ready fails the start instead of hanging", async () => {
    await expect(processPeer("W", worker("exit-early"))).rejects.toThrow("exited before");
  });
});

describe("fleet registration", () => {
  const base = () => {
    const tests: string[] = [];
    const skipped: string[] = [];
    return {
      tests,
      skipped,
      name: "x",
      test: (name: string) => {
        tests.push(name);
      },
      skipTest: (name: string) => {
        skipped.push(name);
      },
      startServer: async () => {
        throw new Error("not started in a registration test");
      },
      createInstance: () => {
        throw new Error("not built in a registration test");
      },
      workerCommand: ["true"],
    };
  };
  const cut: FleetTestName =
    "with its bus cut, an instance serves nothing from L1; once reconnected it does again";

  test("registers five tests under the suite's name, and a cleanup when there is no afterAll", () => {
    const runner = base();
    runFleetSuite(runner);
    expect(runner.tests).toHaveLength(6);
    expect(runner.tests.every((n) => n.startsWith("x fleet ") || n === "x cleanup")).toBe(true);
    expect(runner.tests).toContain(`x fleet ${cut}`);
  });

  test("opt-outs are checked and reported through skipTest", () => {
    const runner = base();
    runFleetSuite({ ...runner, skip: { [cut]: "no proxy can sit in front of this bus" } });
    expect(runner.skipped).toEqual([`x fleet ${cut}`]);
    expect(() => runFleetSuite({ ...base(), skip: { [cut]: "n/a" } })).toThrow("must say why");
  });
});
