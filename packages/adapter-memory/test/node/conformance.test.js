// node --test: the conformance suite against the built dist (Node 20 runs no TypeScript).
import { after, before, test } from "node:test";
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { memoryBusSuite, memoryStoreSuite } from "../suite-options.js";

const runner = {
  test: (name, fn, timeoutMs) => test(name, { timeout: timeoutMs }, fn),
  skipTest: (name, reason) => test(name, { skip: reason }, () => {}),
  beforeAll: before,
  afterAll: after,
};

runStoreSuite({ ...runner, ...memoryStoreSuite(createMemoryStore) });
runBusSuite({ ...runner, ...memoryBusSuite(createMemoryBus, createMemoryStore) });
