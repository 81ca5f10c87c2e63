export { controlTransport, type TransportControl } from "./bus/control.ts";
export type { BusTestName } from "./bus/index.ts";
export { runFleetSuite } from "./fleet/run.ts";
export type { FleetReply, FleetRequest, ServeOptions } from "./fleet/serve.ts";
export { serveCacheOverStdio, serveFleetWorker } from "./fleet/serve.ts";
export type { FleetTestName } from "./fleet/tests.ts";
export type {
  BusSuiteOptions,
  CreateFleetInstance,
  FleetInstance,
  FleetServer,
  FleetSuiteOptions,
  StoreSuiteOptions,
  SuiteRunner,
  TestLog,
} from "./options.ts";
export { runBusSuite, runStoreSuite } from "./run.ts";
export type { StoreTestName } from "./store/index.ts";
