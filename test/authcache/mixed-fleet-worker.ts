// Instance C of a mixed fleet (mixed-fleet.test.ts), in its own process. argv: the adapter order
// ("ioredis,glide,glide"), then the instance as JSON (appended by the fleet suite).
import { fleetWorker } from "@authcache/conformance";
import { serveWorker } from "@authcache/test-servers";
import { Logger } from "@valkey/valkey-glide";
import { type AdapterName, mixedInstance } from "./mixed-fleet-instance.ts";

Logger.setLoggerConfig("off");
const order = (process.argv[2] ?? "").split(",") as AdapterName[];
await serveWorker(() => fleetWorker(mixedInstance(order)));
