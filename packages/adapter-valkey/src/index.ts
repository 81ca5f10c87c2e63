export {
  type BusLogger,
  createValkeyBus,
  createValkeyTransport,
  type ValkeyBus,
  type ValkeyBusOptions,
  type ValkeyTransport,
} from "./bus.ts";
export type {
  ValkeyAddress,
  ValkeyClient,
  ValkeyClientConfig,
  ValkeyConnectionOptions,
} from "./connection.ts";
export { InFlightLimiter } from "./limiter.ts";
export { createValkeyStore, type ValkeyStore, type ValkeyStoreOptions } from "./store.ts";
