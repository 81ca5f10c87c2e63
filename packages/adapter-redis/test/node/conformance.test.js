// node --test: the conformance suite against the built dist (Node 20 runs no TypeScript).
import { after, before, test } from "node:test";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { startCluster, startServer } from "@authcache/test-servers";
import { Cluster, Redis } from "ioredis";
import { redisSuites } from "../suite-options.js";

const runner = {
  test: (name, fn, timeoutMs) => test(name, { timeout: timeoutMs }, fn),
  skipTest: (name, reason) => test(name, { skip: reason }, () => {}),
  beforeAll: before,
  afterAll: after,
};

const deps = { createRedisStore, createRedisBus, startServer, startCluster, Redis, Cluster };
for (const { store, bus } of redisSuites(deps)) {
  runStoreSuite({ ...runner, ...store });
  runBusSuite({ ...runner, ...bus });
}
