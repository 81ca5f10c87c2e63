import type { CreateFleetInstance } from "@authcache/conformance";
import { createRedisBus, createRedisStore } from "../src/index.ts";

/** One instance of the fleet suite, in the test process (A, B) or in fleet-worker.ts (C). */
export const createFleetInstance: CreateFleetInstance = ({ server, busAddress, log }) => ({
  store: createRedisStore({ host: server.host, port: server.port }),
  bus: createRedisBus({ ...busAddress, stream: log, confirmIntervalMs: 100 }),
});
