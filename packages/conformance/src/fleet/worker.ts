import { argv, exit, stdin, stdout } from "node:process";
import { createInterface } from "node:readline";
import type { AuthCache } from "@authcache/core";
import type { CreateFleetInstance, FleetInstance } from "../options.ts";
import { sleep } from "../wait.ts";
import { openInstance } from "./instance.ts";

/** One request of the fleet protocol: a line of JSON on the worker's stdin. */
export interface FleetRequest {
  readonly id: number;
  /** An AuthCache method (`getAuthContext`, `invalidateUser`, ...), `stats` or `close`. */
  readonly method: string;
  readonly args: readonly unknown[];
}

/** One reply, a line of JSON on the worker's stdout. `undefined` stands in for a result JSON
 *  cannot carry; `ready` is the first line, sent once the bus follows the log (or gave up). */
export type FleetReply =
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly undefined: true }
  | { readonly id: number; readonly error: string }
  | { readonly ready: true; readonly busState: string };

export interface ServeOptions {
  /** Closes what the worker opened besides the cache (its bus and store: `cache.close()`
   *  leaves them to their owner). Runs on `close`, before the reply and the exit. */
  onClose?(): Promise<void> | void;
}

/**
 * The worker side of `runFleetSuite`: serves `cache` over stdin/stdout, one JSON object per line,
 *
 *   in:  { "id": 1, "method": "getAuthContext", "args": ["a@x.com", "j1"] }
 *   out: { "id": 1, "result": ... } | { "id": 1, "undefined": true } | { "id": 1, "error": "..." }
 *
 * First it waits (a bounded loop) for the cache's bus to be "up" and says `{ ready, busState }`.
 * `stats` returns `cache.stats()`; `close` closes the cache, runs `onClose`, replies and exits
 * the process. Requests are served one at a time, in order. Resolves when stdin ends.
 */
export async function serveCacheOverStdio(cache: AuthCache, options: ServeOptions = {}) {
  const send = (reply: FleetReply) => stdout.write(`${JSON.stringify(reply)}\n`);
  for (let i = 0; i < 500 && cache.stats().busState !== "up"; i++) await sleep(10);
  send({ ready: true, busState: cache.stats().busState });

  const methods = cache as unknown as Record<string, (...args: unknown[]) => unknown>;
  for await (const line of createInterface({ input: stdin })) {
    if (!line.trim()) continue;
    const { id, method, args } = JSON.parse(line) as FleetRequest;
    try {
      if (method === "close") {
        await cache.close();
        await options.onClose?.();
        send({ id, result: true });
        // A client library may keep the loop alive after close; the parent waits for the exit.
        exit(0);
      }
      const fn = methods[method];
      if (typeof fn !== "function") throw new Error(`no method ${method}`);
      const result = await fn.apply(cache, [...args]);
      send(result === undefined ? { id, undefined: true } : { id, result });
    } catch (error) {
      send({ id, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

/**
 * The whole worker of `runFleetSuite` (instance C): reads the instance the suite passed as the
 * last argument, builds it with `create` exactly as the suite builds A and B in its own process,
 * and serves it with `serveCacheOverStdio`, closing the bus and store on `close`.
 */
export async function serveFleetWorker(
  create: CreateFleetInstance,
  args: readonly string[] = argv,
): Promise<void> {
  const raw = args.at(-1) ?? "";
  let instance: FleetInstance;
  try {
    instance = JSON.parse(raw) as FleetInstance;
  } catch {
    throw new Error(
      `@authcache/conformance fleet worker: expected the instance as JSON, got ${raw}`,
    );
  }
  const { cache, release } = await openInstance(instance, create);
  await serveCacheOverStdio(cache, { onClose: release });
}
