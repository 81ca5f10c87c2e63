export { createRedisBus, type RedisBus, type RedisBusOptions } from "./bus.ts";
export type { RedisClient, RedisConnectionOptions } from "./connection.ts";
export { createRedisStore, type RedisStore, type RedisStoreOptions } from "./store.ts";
