// Instance C of the fleet suite (fleet.test.ts), in its own process, driven over stdin/stdout.
import { serveFleetWorker } from "@authcache/conformance";
import { createFleetInstance } from "./fleet-instance.ts";

await serveFleetWorker(createFleetInstance);
