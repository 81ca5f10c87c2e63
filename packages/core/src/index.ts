/**
 * `@authcache/core`: what an application uses. Adapter authors: `@authcache/core/adapter`
 * (the Store and InvalidationBus contracts, the log follower, the wire and entry formats).
 */
export type { AuthCache } from "./api.ts";
export { createAuthCache } from "./auth-cache.ts";
export type { BusState, InvalidationBus, Store } from "./contracts.ts";
export type { Loader } from "./engine.ts";
export {
  AuthCacheError,
  BusError,
  CircuitOpenError,
  InvalidationError,
  StoreError,
  TimeoutError,
} from "./errors.ts";
export type { BreakerOptions, BreakerState } from "./guard.ts";
export type { Logger } from "./logger.ts";
export { defaultLogger, silentLogger } from "./logger.ts";
export { MAX_IDENTIFIER_LENGTH, MAX_LOG_ENTRY_BYTES } from "./message.ts";
export type { AuthCacheOptions, TtlOptions } from "./options.ts";
export { DEFAULT_REDACT_FIELDS, MAX_DELAY_MS } from "./options.ts";
export type { RevocationSource } from "./revocation.ts";
export type { AuthCacheStats } from "./stats.ts";
export type { AuthContext, RevocationEntry, TeamRecord, UserRecord } from "./values.ts";
export { MAX_LIFETIME_MS, MAX_VALUE_DEPTH } from "./values.ts";
