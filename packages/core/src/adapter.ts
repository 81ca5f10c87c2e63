/**
 * `@authcache/core/adapter`: for authors of stores and buses. The contracts every backend
 * implements, the log follower a bus is built from, the log-entry and stored-entry formats
 * (to write tests that plant or inspect them), the key builder, and the errors.
 */
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
  StoreWrite,
  Unsubscribe,
} from "./contracts.ts";
export type { EntryKind, Envelope, EnvelopeCodec } from "./envelope.ts";
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
export { createLogBus } from "./follower.ts";
export type { KeyCodec, KeyCodecOptions, UserOwnerKind } from "./key-codec.ts";
export { checkPrefix, createKeyCodec } from "./key-codec.ts";
export type {
  LogBus,
  LogBusOptions,
  LogEntry,
  LogPosition,
  LogRead,
  LogReader,
  LogTransport,
} from "./log-transport.ts";
export type { Logger } from "./logger.ts";
export { defaultLogger, silentLogger } from "./logger.ts";
export {
  decodeMessage,
  encodeMessage,
  MAX_IDENTIFIER_LENGTH,
  MAX_LOG_ENTRY_BYTES,
  REVOCATION_BATCH_BYTES,
} from "./message.ts";
