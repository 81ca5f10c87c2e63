/**
 * JSON lines between a test and a cache running in another process (`worker.ts`).
 * Test → worker: requests ({ id, op, ... }) and answers to loads ({ lid, value }).
 * Worker → test: replies ({ id, ok, ... }) and loads ({ lid, spec }): a loader inside the worker
 * asks the test for the value, so the database (the ground truth) stays in the test process.
 */
import type { RedisCacheConfig } from "./cache-factory.ts";

/** Starts every protocol line the worker writes, so stray library output on stdout is told apart. */
export const MARK = "@@authcache-worker@@";

/** An argument that stands for a loader function: the worker turns it into one. */
export interface LoaderArg {
  readonly $loader: unknown;
}

export type WorkerRequest =
  | { readonly id: number; readonly op: "init"; readonly config: RedisCacheConfig }
  | {
      readonly id: number;
      readonly op: "call";
      readonly method: string;
      readonly args: readonly unknown[];
    }
  | { readonly id: number; readonly op: "stats" }
  | { readonly id: number; readonly op: "memory" }
  | { readonly id: number; readonly op: "close" };

export interface LoadAnswer {
  readonly lid: number;
  readonly value?: unknown;
  readonly error?: string;
}

export type WorkerReply =
  | {
      readonly id: number;
      readonly ok: true;
      /** False when the call returned undefined (JSON has no undefined). */
      readonly defined: boolean;
      readonly value?: unknown;
      readonly startedAt: number;
      readonly endedAt: number;
    }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string };
      readonly startedAt: number;
      readonly endedAt: number;
    };

export interface LoadRequest {
  readonly lid: number;
  readonly spec: unknown;
}
