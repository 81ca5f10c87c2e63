import type { CreateFleetInstance } from "@authcache/conformance";
import { createValkeyBus, createValkeyStore } from "../src/index.ts";

// Reconnect within tens of ms after an outage instead of glide's default backoff.
const clientConfig = { connectionBackoff: { numberOfRetries: 4, factor: 25, exponentBase: 2 } };

/** One instance of the fleet suite, in the test process (A, B) or in fleet-worker.ts (C), each
 *  on its own glide clients. */
export const createFleetInstance: CreateFleetInstance = ({ server, busAddress, log }) => ({
  store: createValkeyStore({ addresses: [server], clientConfig }),
  bus: createValkeyBus({
    addresses: [busAddress],
    clientConfig,
    stream: log,
    confirmIntervalMs: 100,
  }),
});
