export { controlTransport, type TransportControl } from "./bus/control.ts";
export type { BusTestName } from "./bus/index.ts";
export { runFleetSuite } from "./fleet/run.ts";
export type { FleetTestName } from "./fleet/tests.ts";
export { cacheWorker, type FleetWorkerService, fleetWorker } from "./fleet/worker.ts";
export type {
  BusSuiteOptions,
  CreateFleetInstance,
  FleetInstance,
  FleetProxy,
  FleetServer,
  FleetSuiteOptions,
  FleetWorkerProcess,
  StoreSuiteOptions,
  SuiteRunner,
  TestLog,
} from "./options.ts";
export { runBusSuite, runStoreSuite } from "./run.ts";
export type { StoreTestName } from "./store/index.ts";
