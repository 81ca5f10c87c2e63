import { argv } from "node:process";
import type { AuthCache } from "@authcache/core";
import type { CreateFleetInstance, FleetInstance } from "../options.ts";
import { sleep } from "../wait.ts";
import { openInstance } from "./instance.ts";

/** What instance C's process serves: `serveWorker` of @authcache/test-servers takes it as is. */
export interface FleetWorkerService {
  /** Sent once as the worker's ready payload: the bus state after a bounded wait for "up". */
  readonly ready: { readonly busState: string };
  /** Calls an AuthCache method by name (`getAuthContext`, `invalidateUser`, `stats`, ...). */
  call(method: string, args: readonly unknown[]): unknown;
  /** Closes the cache, then its bus and store. */
  close(): Promise<void>;
}

/** Serves `cache`: waits (a bounded loop) for its bus to be "up", then answers calls by name. */
export async function cacheWorker(
  cache: AuthCache,
  release: () => Promise<void> | void = () => {},
): Promise<FleetWorkerService> {
  for (let i = 0; i < 500 && cache.stats().busState !== "up"; i++) await sleep(10);
  const methods = cache as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    ready: { busState: cache.stats().busState },
    call(method, args) {
      const fn = methods[method];
      if (typeof fn !== "function") throw new Error(`no method ${method}`);
      return fn.apply(cache, [...args]);
    },
    async close() {
      await cache.close();
      await release();
    },
  };
}

/**
 * The worker of `runFleetSuite` (instance C): reads the instance the suite passed as the last
 * argument and builds it with `create` exactly as the suite builds A and B in its own process.
 * Serve the result with the transport whose `startWorker` the suite was given:
 *
 *   await serveWorker(() => fleetWorker(createFleetInstance)); // @authcache/test-servers
 */
export async function fleetWorker(
  create: CreateFleetInstance,
  args: readonly string[] = argv,
): Promise<FleetWorkerService> {
  const raw = args.at(-1) ?? "";
  let instance: FleetInstance;
  try {
    instance = JSON.parse(raw) as FleetInstance;
  } catch {
    throw new Error(
      `@authcache/conformance fleet worker: expected the instance as JSON, got ${raw}`,
    );
  }
  const { cache, release } = await openInstance(instance, create);
  return cacheWorker(cache, release);
}
