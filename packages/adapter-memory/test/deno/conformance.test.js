// deno test: the conformance suite against the built dist. Deno.test has no suite hooks or
// per-test timeouts: the suite runs setup lazily and cleanup as a last test.
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { memoryBusSuite, memoryStoreSuite } from "../suite-options.js";

const runner = {
  test: (name, fn) => Deno.test({ name, fn }),
  skipTest: (name) => Deno.test({ name, ignore: true, fn: () => {} }),
};

runStoreSuite({ ...runner, ...memoryStoreSuite(createMemoryStore) });
runBusSuite({ ...runner, ...memoryBusSuite(createMemoryBus, createMemoryStore) });
