// bun test: the conformance suites on `:memory:` and on a `file:` database, against src.
import { afterAll, beforeAll, test } from "bun:test";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { createLibsqlBus, createLibsqlStore } from "../src/index.ts";
import { libsqlSuites } from "./suite-options.js";

const runner = {
  test: (name: string, fn: () => Promise<void>, timeoutMs: number) => test(name, fn, timeoutMs),
  skipTest: (name: string) => test.skip(name, () => {}),
  beforeAll,
  afterAll,
};

const suites = libsqlSuites({ createLibsqlStore, createLibsqlBus });
runStoreSuite({ ...runner, ...suites.memoryStore });
runBusSuite({ ...runner, ...suites.memoryBus });
runStoreSuite({ ...runner, ...suites.fileStore });
runBusSuite({ ...runner, ...suites.fileBus });
