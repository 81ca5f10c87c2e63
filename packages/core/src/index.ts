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
export { decodeMessage, encodeMessage } from "./message.ts";
