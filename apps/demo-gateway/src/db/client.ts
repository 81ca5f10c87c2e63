/**
 * Opens the gateway's libSQL database (an embedded file by default) with every round trip
 * counted at the client, below Drizzle: what the counters say is what reached the database.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "./migrations.ts";
import * as schema from "./schema.ts";
import { seed } from "./seed.ts";

export type Db = LibSQLDatabase<typeof schema>;

/** Round trips that reached the libSQL client, by client method. */
export interface ClientCounter {
  total: number;
  readonly byMethod: Map<string, number>;
}

const COUNTED = new Set(["execute", "batch", "migrate", "transaction", "executeMultiple"]);

/** Wraps a client so each call that talks to the database adds one to `counter`. */
export function countingClient(client: Client, counter: ClientCounter): Client {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof prop === "string" && COUNTED.has(prop) && typeof value === "function") {
        return (...args: unknown[]) => {
          counter.total += 1;
          counter.byMethod.set(prop, (counter.byMethod.get(prop) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

export interface Database {
  readonly db: Db;
  readonly client: Client;
  readonly counter: ClientCounter;
  close(): void;
}

export interface OpenDatabaseOptions {
  readonly url: string;
  readonly authToken?: string;
  /** Apply migrations (default true). */
  readonly migrate?: boolean;
  /** Insert the demo rows that are missing (default true). */
  readonly seed?: boolean;
}

/** Opens the database, creating the directory of a `file:` URL, then migrates and seeds. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  ensureFileDirectory(options.url);
  const raw = createClient(
    options.authToken ? { url: options.url, authToken: options.authToken } : { url: options.url },
  );
  // Foreign keys are per connection in SQLite; an embedded client has one connection.
  await raw.execute("PRAGMA foreign_keys = ON");
  if (options.migrate ?? true) await migrate(raw);
  if (options.seed ?? true) await seed(raw);
  const counter: ClientCounter = { total: 0, byMethod: new Map() };
  const client = countingClient(raw, counter);
  return { db: drizzle(client, { schema }), client, counter, close: () => raw.close() };
}

/** Creates the directory of a `file:` URL's database, so a fresh clone needs no setup. */
export function ensureFileDirectory(url: string): void {
  if (!url.startsWith("file:")) return;
  const path = url.slice("file:".length).split("?")[0] ?? "";
  if (path && path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
}
