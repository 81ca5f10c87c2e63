import { describe, expect, test } from "bun:test";
import type { AuthCache } from "@authcache/core";
import { processPeer } from "../src/fleet/peers.ts";
import {
  cacheWorker,
  type FleetTestName,
  type FleetWorkerProcess,
  runFleetSuite,
} from "../src/index.ts";

/** A stand-in cache: what `cacheWorker` serves does not depend on the backend. */
function standIn(busState = "up") {
  const log: string[] = [];
  const cache = {
    stats: () => ({ busState, closed: log.filter((l) => l === "close").length }),
    echo: async (value: unknown) => value,
    nothing: async () => undefined,
    fail: async () => {
      throw new Error("failed on purpose");
    },
    close: async () => {
      log.push("close");
    },
  } as unknown as AuthCache;
  return { cache, log };
}

/** The worker's service behind the FleetWorkerProcess interface, without a process between
 *  (the transport is @authcache/test-servers' and is tested there). */
async function inProcess(busState = "up") {
  const { cache, log } = standIn(busState);
  const service = await cacheWorker(cache, () => {
    log.push("release");
  });
  let killed = false;
  const worker: FleetWorkerProcess = {
    ready: JSON.parse(JSON.stringify(service.ready)),
    request: async (method, ...args) => service.call(method, args),
    close: () => service.close(),
    kill: async () => {
      killed = true;
    },
  };
  return { worker, log, killed: () => killed };
}

describe("fleet worker (cacheWorker and its peer)", () => {
  test("calls reach the cache by name; stats; close closes the cache, then its bus and store", async () => {
    const { worker, log } = await inProcess();
    const peer = await processPeer("C", async () => worker);
    expect(await peer.call("echo", { a: [1, "x"] })).toEqual({ a: [1, "x"] });
    expect(await peer.call("nothing")).toBeUndefined();
    await expect(peer.call("fail")).rejects.toThrow("failed on purpose");
    await expect(peer.call("nope")).rejects.toThrow("no method nope");
    expect(await peer.stats()).toEqual({ busState: "up", closed: 0 });
    await peer.close();
    expect(log).toEqual(["close", "release"]);
  });

  test("a worker whose bus is not up fails the start, and is killed", async () => {
    const { worker, killed } = await inProcess("down");
    await expect(processPeer("C", async () => worker)).rejects.toThrow(
      'C: the worker\'s bus is "down", expected "up"',
    );
    expect(killed()).toBe(true);
  }, 15_000); // cacheWorker waits (a bounded loop, 5 s) for the bus before it gives up
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
      startWorker: async () => {
        throw new Error("no worker in a registration test");
      },
      startProxy: async () => {
        throw new Error("no proxy in a registration test");
      },
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
