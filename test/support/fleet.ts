/**
 * A fleet of caches that a scenario drives the same way whether an instance runs in this
 * process or in a worker: `call(method, args)` with loaders given as specs.
 */
import type { AuthCache, RedisCacheHandle } from "./cache-factory.ts";
import type { CallResult, WorkerHandle } from "./worker-client.ts";

export interface Instance {
  readonly name: string;
  /** Where it runs: this process's pid or the worker's. */
  readonly pid: number;
  /** Calls `cache[method](...args)`; `loader` (when given) is appended as the last argument. */
  call(method: string, args: readonly unknown[], loader?: unknown): Promise<CallResult>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
  /** Kills the instance's process abruptly (worker instances only). */
  kill?(): Promise<void>;
}

/** An instance in this process. `load` answers its loaders. */
export function localInstance(
  name: string,
  handle: RedisCacheHandle,
  load: (spec: unknown) => unknown,
): Instance {
  const cache = handle.cache as unknown as Record<string, (...a: unknown[]) => unknown>;
  return {
    name,
    pid: process.pid,
    async call(method, args, loader) {
      const fn = cache[method];
      const full = loader === undefined ? [...args] : [...args, async () => load(loader)];
      const startedAt = Date.now();
      try {
        if (typeof fn !== "function") throw new TypeError(`no method ${method}`);
        const value = await fn.apply(handle.cache, full);
        return { ok: true, value, startedAt, endedAt: Date.now() };
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        return {
          ok: false,
          value: undefined,
          error: { name: error.name, message: error.message },
          startedAt,
          endedAt: Date.now(),
        };
      }
    },
    async stats() {
      return {
        cache: (handle.cache as AuthCache).stats(),
        busDropped: handle.bus.dropped,
        log: handle.log,
      };
    },
    close: () => handle.close(),
  };
}

/** An instance in a worker process (its loaders are answered by the worker's `onLoad`). */
export function workerInstance(name: string, worker: WorkerHandle): Instance {
  return {
    name,
    pid: worker.pid,
    call: (method, args, loader) =>
      loader === undefined
        ? worker.call(method, ...args)
        : worker.call(method, ...args, { $loader: loader }),
    stats: async () => (await worker.stats()) as Record<string, unknown>,
    close: () => worker.close(),
    kill: () => worker.kill(),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
