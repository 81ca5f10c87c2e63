import type { BusSuiteOptions, StoreSuiteOptions, SuiteRunner } from "@authcache/conformance";
import type { Store } from "@authcache/core";
import type { MemoryBus, MemoryBusOptions } from "../src/memory-bus.ts";
import type { MemoryStore } from "../src/memory-store.ts";

export function memoryStoreSuite(
  createMemoryStore: (o?: object) => Store,
): Omit<StoreSuiteOptions, keyof SuiteRunner>;

export function memoryBusSuite(
  createMemoryBus: (o?: MemoryBusOptions) => MemoryBus,
  createMemoryStore: () => MemoryStore,
): Omit<BusSuiteOptions, keyof SuiteRunner>;
