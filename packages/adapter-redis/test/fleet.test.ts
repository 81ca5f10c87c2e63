// The conformance fleet suite on Redis: three AuthCaches sharing one server, each on its own
// connections, one of them in its own process (fleet-worker.ts).
import { afterAll, beforeAll, test } from "bun:test";
import { join } from "node:path";
import { runFleetSuite } from "@authcache/conformance";
import { startServer, startTcpProxy, startWorker } from "@authcache/test-servers";
import { createFleetInstance } from "./fleet-instance.ts";

runFleetSuite({
  name: "redis",
  test: (name, fn, timeoutMs) => test(name, fn, timeoutMs),
  skipTest: (name) => test.skip(name, () => {}),
  beforeAll: (fn) => beforeAll(fn, 30_000),
  afterAll: (fn) => afterAll(fn, 30_000),
  startServer: () => startServer("redis"),
  createInstance: createFleetInstance,
  workerCommand: [process.execPath, join(import.meta.dir, "fleet-worker.ts")],
  startWorker: (argv) => startWorker(argv, { label: "fleet worker C" }),
  startProxy: startTcpProxy,
  maxStaleMs: 600,
});
