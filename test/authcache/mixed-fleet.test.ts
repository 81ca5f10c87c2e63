// A fleet that mixes the two Redis adapters is one fleet: the conformance fleet suite (revocation,
// user, role and team invalidations, a bus cut and recovery, a server kill and restart) with A on
// one adapter and B and C on the other, both ways, on a Redis and a Valkey server, standalone and
// a 3-master cluster.
import { afterAll, beforeAll, describe, test } from "bun:test";
import { join } from "node:path";
import { type FleetServer, runFleetSuite } from "@authcache/conformance";
import {
  rawCommand,
  type ServerKind,
  startCluster,
  startServer,
  startTcpProxy,
  startWorker,
} from "@authcache/test-servers";
import { Logger } from "@valkey/valkey-glide";
import { type AdapterName, mixedInstance } from "./mixed-fleet-instance.ts";

Logger.setLoggerConfig("off");

const runner = {
  test: (name: string, fn: () => Promise<void>, timeoutMs: number) => test(name, fn, timeoutMs),
  skipTest: (name: string) => test.skip(name, () => {}),
  beforeAll: (fn: () => Promise<void>) => beforeAll(fn, 90_000),
  afterAll: (fn: () => Promise<void>) => afterAll(fn, 60_000),
};

/** A 3-master cluster as the fleet suite's server: killed and restarted as a whole. */
async function clusterServer(kind: ServerKind): Promise<FleetServer> {
  const c = await startCluster(kind);
  const first = c.nodes[0];
  if (!first) throw new Error("the cluster has no node");
  return {
    host: first.host,
    port: first.port,
    nodes: c.nodes,
    async onEveryNode(command) {
      for (const node of c.allNodes) {
        const reply = await rawCommand(node, command);
        if (reply.startsWith("-")) throw new Error(`${command}: ${reply.trim()}`);
      }
    },
    async kill() {
      for (const node of c.allNodes) await c.killNode(node);
    },
    async restart() {
      for (const node of c.allNodes) await c.restartNode(node);
      await c.waitHealthy();
    },
    stop: () => c.stop(),
  };
}

const orders: readonly (readonly AdapterName[])[] = [
  ["ioredis", "glide", "glide"],
  ["glide", "ioredis", "ioredis"],
];

for (const kind of ["redis", "valkey"] as const) {
  for (const topology of ["standalone", "cluster"] as const) {
    for (const order of orders) {
      const name = `mixed ${order.join("/")} on ${kind} ${topology}`;
      describe(name, () => {
        runFleetSuite({
          ...runner,
          name,
          startServer: () => (topology === "cluster" ? clusterServer(kind) : startServer(kind)),
          createInstance: mixedInstance(order),
          workerCommand: [
            process.execPath,
            join(import.meta.dir, "mixed-fleet-worker.ts"),
            order.join(","),
          ],
          startWorker: (argv) => startWorker(argv, { label: "fleet worker C" }),
          startProxy: startTcpProxy,
          maxStaleMs: 600,
          timeoutMs: 30_000,
        });
      });
    }
  }
}
