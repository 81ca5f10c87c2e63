export { createMemoryBus, type MemoryBus, type MemoryBusOptions } from "./memory-bus.ts";
export {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from "./memory-store.ts";
