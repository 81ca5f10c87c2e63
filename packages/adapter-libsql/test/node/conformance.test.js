// node --test: the conformance suites against the built dist (Node 20 runs no TypeScript).
import { after, before, test } from "node:test";
import { createLibsqlBus, createLibsqlStore } from "@authcache/adapter-libsql";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { libsqlSuites } from "../suite-options.js";

const runner = {
  test: (name, fn, timeoutMs) => test(name, { timeout: timeoutMs }, fn),
  skipTest: (name, reason) => test(name, { skip: reason }, () => {}),
  beforeAll: before,
  afterAll: after,
};

const suites = libsqlSuites({ createLibsqlStore, createLibsqlBus });
runStoreSuite({ ...runner, ...suites.memoryStore });
runBusSuite({ ...runner, ...suites.memoryBus });
runStoreSuite({ ...runner, ...suites.fileStore });
runBusSuite({ ...runner, ...suites.fileBus });
