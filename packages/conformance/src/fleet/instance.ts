import { type AuthCache, createAuthCache, silentLogger } from "@authcache/core";
import type { CreateFleetInstance, FleetInstance } from "../options.ts";

/** An instance's cache and what it runs on. */
export interface OpenInstance {
  readonly cache: AuthCache;
  /** Closes the bus and the store, which `cache.close()` leaves to their owner. */
  release(): Promise<void>;
}

/** Builds an instance the same way in this process and in the worker. */
export async function openInstance(
  instance: FleetInstance,
  create: CreateFleetInstance,
): Promise<OpenInstance> {
  const { store, bus } = await create(instance);
  const cache = createAuthCache({
    store,
    bus,
    prefix: instance.prefix,
    maxStaleMs: instance.maxStaleMs,
    logger: silentLogger,
  });
  return {
    cache,
    release: async () => {
      await bus.close();
      await store.close();
    },
  };
}
