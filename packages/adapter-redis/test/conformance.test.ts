import { afterAll, beforeAll, test } from "bun:test";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { startCluster, startServer } from "@authcache/test-servers";
import { Cluster, Redis } from "ioredis";
import { createRedisBus, createRedisStore } from "../src/index.ts";
import { redisSuites } from "./suite-options.js";

const runner = {
  test: (name: string, fn: () => Promise<void>, timeoutMs: number) => test(name, fn, timeoutMs),
  skipTest: (name: string) => test.skip(name, () => {}),
  beforeAll: (fn: () => Promise<void>) => beforeAll(fn, 60_000),
  afterAll,
};

const deps = { createRedisStore, createRedisBus, startServer, startCluster, Redis, Cluster };
for (const { store, bus } of redisSuites(deps)) {
  runStoreSuite({ ...runner, ...store });
  runBusSuite({ ...runner, ...bus });
}
