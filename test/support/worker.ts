/**
 * A cache instance in its own process: `bun test/support/worker.ts '<config as JSON>'`, served
 * over the tests' one stdio protocol (`serveWorker` in @authcache/test-servers). Methods:
 * `call(method, args)` runs `cache[method](...args)`, where an argument `{ $loader: spec }`
 * becomes a loader that asks the test process for the value (so the database, the ground
 * truth, stays in the test); `stats`; `memory`. It closes the cache and exits when stdin ends.
 */
import { callMethod, serveWorker, workerArgument } from "@authcache/test-servers";
import { createRedisCache, type RedisCacheConfig } from "./cache-factory.ts";

/** An argument that stands for a loader function: the worker turns it into one. */
export interface LoaderArg {
  readonly $loader: unknown;
}

const isLoaderArg = (a: unknown): a is LoaderArg =>
  a !== null && typeof a === "object" && "$loader" in a;

await serveWorker(async (ask) => {
  const handle = await createRedisCache(workerArgument<RedisCacheConfig>());
  return {
    ready: process.pid,
    call(method, args) {
      switch (method) {
        case "call": {
          const [name, callArgs] = args as [string, readonly unknown[]];
          const revived = callArgs.map((a) => (isLoaderArg(a) ? () => ask(a.$loader) : a));
          return callMethod(handle.cache, name, revived);
        }
        case "stats":
          return { cache: handle.cache.stats(), busDropped: handle.bus.dropped, log: handle.log };
        case "memory":
          return process.memoryUsage();
        default:
          throw new Error(`worker: no method ${method}`);
      }
    },
    close: () => handle.close(),
  };
});
