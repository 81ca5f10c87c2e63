import type { FleetWorkerProcess } from "../options.ts";
import type { OpenInstance } from "./instance.ts";

/** What the fleet tests need of an instance, in this process or another. */
export interface Peer {
  readonly label: string;
  /** Calls an AuthCache method by name; rejects with the method's error. */
  call(method: string, ...args: unknown[]): Promise<unknown>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** An instance in this process. */
export function localPeer(label: string, { cache, release }: OpenInstance): Peer {
  const methods = cache as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    label,
    call: async (method, ...args) => {
      const fn = methods[method];
      if (typeof fn !== "function") throw new Error(`${label}: no method ${method}`);
      return fn.apply(cache, args);
    },
    stats: async () => ({ ...cache.stats() }),
    close: async () => {
      await cache.close();
      await release();
    },
  };
}

/**
 * An instance in a worker process (served by `fleetWorker`), started by the suite's
 * `startWorker`. Fails unless the worker says its bus is up (and then kills it).
 */
export async function processPeer(
  label: string,
  start: () => Promise<FleetWorkerProcess>,
): Promise<Peer> {
  const worker = await start();
  const busState = (worker.ready as { busState?: unknown } | null)?.busState;
  if (busState !== "up") {
    await worker.kill();
    throw new Error(`${label}: the worker's bus is "${String(busState)}", expected "up"`);
  }
  return {
    label,
    call: (method, ...args) => worker.request(method, ...args),
    stats: async () => (await worker.request("stats")) as Record<string, unknown>,
    close: () => worker.close(),
  };
}
