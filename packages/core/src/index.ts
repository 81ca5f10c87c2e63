export type {
  BusHandlers,
  BusState,
  Fence,
  InvalidationBus,
  InvalidationMessage,
  MemberCheck,
  ReadResult,
  Store,
  Unsubscribe,
} from "./contracts.ts";
export type { KeyCodec, KeyCodecOptions, UserOwnerKind } from "./key-codec.ts";
export { checkPrefix, createKeyCodec, percentEncode } from "./key-codec.ts";
export type { L1CacheOptions } from "./l1-cache.ts";
export { L1Cache } from "./l1-cache.ts";
export { decodeMessage, encodeMessage } from "./message.ts";
