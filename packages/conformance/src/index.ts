export type { BusTestName } from "./bus/index.ts";
export type { BusSuiteOptions, StoreSuiteOptions, SuiteRunner, TestLog } from "./options.ts";
export { runBusSuite, runStoreSuite } from "./run.ts";
export type { StoreTestName } from "./store/index.ts";
