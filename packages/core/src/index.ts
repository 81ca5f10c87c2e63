export type { AuthCache, AuthCacheStats, RevocationSource } from "./auth-cache.ts";
export { createAuthCache } from "./auth-cache.ts";
export type {
  BusHandlers,
  BusState,
  Fence,
  Hashed,
  InvalidationBus,
  InvalidationMessage,
  MemberCheck,
  ReadResult,
  ResetCause,
  RevokedToken,
  Store,
  Unsubscribe,
} from "./contracts.ts";
export type { Envelope, EnvelopeCodec, Kind } from "./envelope.ts";
export {
  createEnvelopeCodec,
  decodeEnvelope,
  ENVELOPE_VERSION,
  encodeEnvelope,
  entryIdentity,
} from "./envelope.ts";
export {
  AuthCacheError,
  BusError,
  CircuitOpenError,
  InvalidationError,
  StoreError,
  TimeoutError,
} from "./errors.ts";
export { ExpiringSet } from "./expiring-set.ts";
export type {
  LogBus,
  LogBusOptions,
  LogEntry,
  LogPosition,
  LogRead,
  LogReader,
  LogTransport,
} from "./follower.ts";
export { createLogBus } from "./follower.ts";
export type { BreakerOptions, BreakerState, GuardOptions } from "./guard.ts";
export { Guard } from "./guard.ts";
export type { KeyCodec, KeyCodecOptions, UserOwnerKind } from "./key-codec.ts";
export { checkPrefix, createKeyCodec, percentEncode } from "./key-codec.ts";
export type { L1CacheOptions } from "./l1-cache.ts";
export { L1Cache } from "./l1-cache.ts";
export type { Logger } from "./logger.ts";
export { defaultLogger, silentLogger } from "./logger.ts";
export {
  decodeMessage,
  encodeMessage,
  MAX_IDENTIFIER_LENGTH,
  MAX_LOG_ENTRY_BYTES,
  REVOCATION_BATCH_BYTES,
} from "./message.ts";
export type { AuthCacheOptions, TtlOptions } from "./options.ts";
export { DEFAULT_REDACT_FIELDS, MAX_DELAY_MS } from "./options.ts";
export { SingleFlight } from "./singleflight.ts";
export type { AuthContext, RevocationEntry, UserRecord } from "./values.ts";
export { MAX_LIFETIME_MS, MAX_VALUE_DEPTH } from "./values.ts";
