/**
 * The test's side of a worker process (worker.ts): spawn it, call cache methods on it, answer
 * its loads. The transport is the tests' one stdio protocol (`startWorker`, @authcache/test-servers).
 */
import { join } from "node:path";
import { type CallResult, startWorker } from "@authcache/test-servers";
import type { RedisCacheConfig } from "./cache-factory.ts";

export type { CallResult } from "@authcache/test-servers";

export interface WorkerHandle {
  readonly pid: number;
  /** Calls `cache[method](...args)` in the worker; `{ $loader: spec }` args become loaders. */
  call(method: string, ...args: unknown[]): Promise<CallResult>;
  stats(): Promise<unknown>;
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Closes the cache and waits for the process to exit (kills it if it does not). */
  close(): Promise<void>;
  /** Kills the process abruptly (SIGKILL), whatever it is doing, and waits for it to exit. */
  kill(): Promise<void>;
  readonly exited: boolean;
}

/** Spawns `bun test/support/worker.ts` with a Redis-backed cache built from `config`. `onLoad`
 *  answers the worker's loaders (its return value is sent back; a throw becomes a load error). */
export async function spawnWorker(
  config: RedisCacheConfig,
  onLoad: (spec: unknown) => unknown | Promise<unknown>,
): Promise<WorkerHandle> {
  const worker = await startWorker(
    [process.execPath, join(import.meta.dir, "worker.ts"), JSON.stringify(config)],
    { label: "cache worker", onAsk: onLoad },
  );
  return {
    pid: worker.pid,
    get exited() {
      return worker.exited;
    },
    call: (method, ...args) => worker.call("call", method, args),
    stats: () => worker.request("stats"),
    memory: async () => (await worker.request("memory")) as NodeJS.MemoryUsage,
    close: () => worker.close(),
    kill: () => worker.kill(),
  };
}
