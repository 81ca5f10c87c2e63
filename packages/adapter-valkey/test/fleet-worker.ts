// Instance C of the fleet suite (fleet.test.ts), in its own process, driven over stdin/stdout.
import { serveFleetWorker } from "@authcache/conformance";
import { Logger } from "@valkey/valkey-glide";
import { createFleetInstance } from "./fleet-instance.ts";

Logger.setLoggerConfig("off");
await serveFleetWorker(createFleetInstance);
