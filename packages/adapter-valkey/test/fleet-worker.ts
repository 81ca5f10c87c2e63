// Instance C of the fleet suite (fleet.test.ts), in its own process, served over the tests' stdio worker protocol.
import { fleetWorker } from "@authcache/conformance";
import { serveWorker } from "@authcache/test-servers";
import { Logger } from "@valkey/valkey-glide";
import { createFleetInstance } from "./fleet-instance.ts";

Logger.setLoggerConfig("off");
await serveWorker(() => fleetWorker(createFleetInstance));
