// deno test: the conformance suite against the built dist. Deno.test has no suite hooks or
// per-test timeouts: the suite runs setup lazily and cleanup as a last test.
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { startCluster, startServer } from "@authcache/test-servers";
import { Cluster, Redis } from "ioredis";
import { redisSuites } from "../suite-options.js";

// Sanitizers off: each backend (server processes, their watchdogs, an admin connection) lives
// across the tests of its suites and is stopped by the cleanup test, not inside each test.
const runner = {
  test: (name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false }),
  skipTest: (name) => Deno.test({ name, ignore: true, fn: () => {} }),
};

const deps = { createRedisStore, createRedisBus, startServer, startCluster, Redis, Cluster };
for (const { store, bus } of redisSuites(deps)) {
  runStoreSuite({ ...runner, ...store });
  runBusSuite({ ...runner, ...bus });
}
