import type {
  BusSuiteOptions,
  StoreSuiteOptions,
  SuiteRunner,
  TestLog,
} from "@authcache/conformance";
import type { Client } from "@libsql/client";
import type { createLibsqlBus, createLibsqlStore } from "../src/index.ts";

export const POLL_MS: number;

export function tempDir(): { dir: string; url(name: string): string; remove(): void };

export interface FaultyClient {
  readonly client: Client;
  /** Every call fails for `ms`, as a dropped connection would. */
  failFor(ms: number): void;
  /** Calls wait until `resume()`. */
  pause(): void;
  resume(): void;
  /** Every call waits `ms` before it is sent and again before its result is returned. */
  delay(ms: number): void;
}
export function faulty(real: Client): FaultyClient;

export interface Opener {
  open(): { client: Client; close(): void };
  close(): void;
}
export function opener(url: string): Opener;

export function libsqlTestLog(open: Opener["open"], create: typeof createLibsqlBus): TestLog;

type Store = Omit<StoreSuiteOptions, keyof SuiteRunner>;
type Bus = Omit<BusSuiteOptions, keyof SuiteRunner>;
export function libsqlSuites(adapter: {
  createLibsqlStore: typeof createLibsqlStore;
  createLibsqlBus: typeof createLibsqlBus;
}): { memoryStore: Store; memoryBus: Bus; fileStore: Store; fileBus: Bus };
