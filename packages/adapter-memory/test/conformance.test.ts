import { afterAll, beforeAll, test } from "bun:test";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { createMemoryBus, createMemoryStore } from "../src/index.ts";
import { memoryBusSuite, memoryStoreSuite } from "./suite-options.js";

const runner = {
  test: (name: string, fn: () => Promise<void>, timeoutMs: number) => test(name, fn, timeoutMs),
  skipTest: (name: string) => test.skip(name, () => {}),
  beforeAll,
  afterAll,
};

runStoreSuite({ ...runner, ...memoryStoreSuite(createMemoryStore) });
runBusSuite({ ...runner, ...memoryBusSuite(createMemoryBus, createMemoryStore) });
