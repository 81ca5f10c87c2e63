// The conformance fleet suite on Valkey: three AuthCaches sharing one server, each on its own
// glide clients, one of them in its own process (fleet-worker.ts).
import { join } from "node:path";
import { runFleetSuite } from "@authcache/conformance";
import { startServer, startTcpProxy, startWorker } from "@authcache/test-servers";
import { createFleetInstance } from "./fleet-instance.ts";
import { bunRunner } from "./helpers.ts";

runFleetSuite({
  ...bunRunner,
  name: "valkey",
  startServer: () => startServer("valkey"),
  createInstance: createFleetInstance,
  workerCommand: [process.execPath, join(import.meta.dir, "fleet-worker.ts")],
  startWorker: (argv) => startWorker(argv, { label: "fleet worker C" }),
  startProxy: startTcpProxy,
  maxStaleMs: 600,
});
