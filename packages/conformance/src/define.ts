import type { InvalidationBus, Store } from "@authcache/core";
import type { TestKeys } from "./keys.ts";
import type { TestLog } from "./options.ts";

/** What a store test receives. Stores it creates are closed after the test. */
export interface StoreTestContext {
  /** A new Store from the adapter's factory (tracked and closed after the test). */
  createStore(): Promise<Store>;
  /** Keys under a prefix unique to this test. */
  readonly keys: TestKeys;
  /** The backend's expiry granularity in ms. */
  readonly resolutionMs: number;
}

export interface StoreTest {
  readonly name: string;
  run(ctx: StoreTestContext): Promise<void>;
}

/** What a bus test receives: a fresh log and a factory for buses on it (closed after the test). */
export interface BusTestContext {
  readonly log: TestLog;
  createBus(): Promise<InvalidationBus>;
  readonly confirmIntervalMs: number;
  /** A string unique to this test, for message contents. */
  readonly tag: string;
}

export type BusHook =
  | "pause"
  | "resume"
  | "interrupt"
  | "trim"
  | "appendRaw"
  | "remove"
  | "recreate"
  | "delay";

export interface BusTest {
  readonly name: string;
  /** Hooks of `TestLog` this test calls; a missing one requires a named opt-out. */
  readonly needs?: readonly BusHook[];
  /** Its own budget when it needs more than the suite's. */
  readonly timeoutMs?: number;
  run(ctx: BusTestContext): Promise<void>;
}

/** Keeps the literal test names, so `skip` keys are checked by the compiler. */
export function storeTests<const T extends readonly StoreTest[]>(tests: T): T {
  return tests;
}

export function busTests<const T extends readonly BusTest[]>(tests: T): T {
  return tests;
}
