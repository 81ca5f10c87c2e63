import { type Client, createClient, type InStatement, type ResultSet } from "@libsql/client";

/** How a store or a bus reaches its database: an existing client (never closed here) or a URL
 *  (opened here, closed by `close()`). */
export interface LibsqlConnectionOptions {
  /** An existing client. The adapter uses it and never closes it. Share one client between
   *  the store and the bus when the URL is `:memory:`: each client has its own in-memory DB. */
  client?: Client;
  /** `file:path.db`, `:memory:`, `libsql://…`, `http(s)://…`. Opened here, closed by `close()`. */
  url?: string;
  /** Auth token for a remote database (ignored with `client`). */
  authToken?: string;
  /** Table name prefix, letters, digits and `_` only (default `authcache_`). */
  tablePrefix?: string;
  /** How long a write waits for another process's lock on a `file:` database (default 5000).
   *  A client opened here waits up to this inside SQLite (`busy_timeout`); then, and on a
   *  given client, the adapter retries SQLITE_BUSY with backoff for up to twice as long, so
   *  SQLITE_BUSY reaches the caller only after a lock held for many seconds. */
  busyTimeoutMs?: number;
}

/** A resolved connection: the client, whether this adapter owns it, and the shared helpers. */
export interface Connection {
  readonly client: Client;
  readonly owned: boolean;
  readonly prefix: string;
  readonly local: boolean;
  readonly busyTimeoutMs: number;
  /** Runs one statement once the schema exists, retrying SQLITE_BUSY. */
  run(statement: InStatement): Promise<ResultSet>;
  /** Runs `statements` in one transaction and one round trip, retrying SQLITE_BUSY. */
  batch(statements: InStatement[], mode: "write" | "read" | "deferred"): Promise<ResultSet[]>;
  close(): void;
}

const PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;
const PACKAGE = "@authcache/adapter-libsql";

/** Opens (or adopts) the client and returns the helpers both adapters build on. `schema` is
 *  the list of idempotent DDL statements this adapter needs; it runs once, lazily, before the
 *  first statement, and is retried on the next call if it failed. */
export function connect(
  adapter: string,
  options: LibsqlConnectionOptions,
  schema: (prefix: string) => string[],
): Connection {
  const prefix = options.tablePrefix ?? "authcache_";
  if (!PREFIX.test(prefix)) {
    throw new RangeError(
      `${PACKAGE} (${adapter}): tablePrefix must match ${PREFIX} (it is interpolated into SQL), got ${JSON.stringify(prefix)}`,
    );
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isFinite(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError(`${PACKAGE} (${adapter}): busyTimeoutMs must be >= 0`);
  }
  if ((options.client === undefined) === (options.url === undefined)) {
    throw new TypeError(`${PACKAGE} (${adapter}): pass exactly one of { client } or { url }`);
  }
  const owned = options.client === undefined;
  const client =
    options.client ??
    createClient({
      url: options.url as string,
      ...(options.authToken === undefined ? {} : { authToken: options.authToken }),
      // busy_timeout for every connection the client's pool opens (file: only).
      timeout: busyTimeoutMs,
    });
  const local = client.protocol === "file";
  // A statement may already have waited `busyTimeoutMs` inside SQLite before failing busy; the
  // retries get as long again. A given client's settings are left alone: without a busy
  // timeout, its statements fail busy at once and the (non-blocking) retries do the waiting.
  const retryBudgetMs = Math.max(busyTimeoutMs, 100) * 2;

  let ready: Promise<void> | undefined;
  const ensureSchema = (): Promise<void> => {
    if (ready === undefined) {
      ready = (async () => {
        if (local) {
          // WAL lets readers run while another process writes; the setting is persistent in
          // the file (an in-memory database answers "memory" and is unaffected).
          await retryBusy(() => client.execute("PRAGMA journal_mode = WAL"), retryBudgetMs);
        }
        await retryBusy(
          () =>
            client.batch(
              schema(prefix).map((sql) => ({ sql, args: [] })),
              "write",
            ),
          retryBudgetMs,
        );
      })();
      ready.catch(() => {
        ready = undefined;
      });
    }
    return ready;
  };

  /** Runs `fn` once the schema exists. A table dropped under a running instance (an operator
   *  clearing the change-log, say) is created again and `fn` retried once, so the instance
   *  recovers by itself instead of failing until another process starts. */
  const withSchema = async <T>(fn: () => Promise<T>): Promise<T> => {
    await ensureSchema();
    try {
      return await retryBusy(fn, retryBudgetMs);
    } catch (error) {
      if (!isMissingTable(error)) throw error;
      ready = undefined;
      await ensureSchema();
      return retryBusy(fn, retryBudgetMs);
    }
  };

  return {
    client,
    owned,
    prefix,
    local,
    busyTimeoutMs,
    run: (statement) => withSchema(() => client.execute(statement)),
    batch: (statements, mode) => withSchema(() => client.batch(statements, mode)),
    close() {
      if (owned && !client.closed) client.close();
    },
  };
}

/** True for "no such table" (a table of ours was dropped while we ran). */
export function isMissingTable(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" && /no such table/i.test(message);
}

/** True for the errors another process's lock causes: worth waiting for, never worth showing. */
export function isBusyError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, extendedCode, message } = error as {
    code?: unknown;
    extendedCode?: unknown;
    message?: unknown;
  };
  const codes = [code, extendedCode].filter((c): c is string => typeof c === "string");
  if (codes.some((c) => c.startsWith("SQLITE_BUSY") || c.startsWith("SQLITE_LOCKED"))) {
    return true;
  }
  return typeof message === "string" && /database (table )?is locked/i.test(message);
}

/** Retries `fn` while it fails with SQLITE_BUSY/SQLITE_LOCKED, with jittered backoff, for at
 *  most `budgetMs` (then rethrows the last error). A statement or batch that failed with
 *  SQLITE_BUSY took no effect (SQLite rolled it back), so a retry never applies it twice. */
export async function retryBusy<T>(fn: () => Promise<T>, budgetMs: number): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isBusyError(error) || Date.now() - started >= budgetMs) throw error;
      const backoff = Math.min(2 ** attempt, 50);
      await new Promise((resolve) => setTimeout(resolve, backoff / 2 + Math.random() * backoff));
    }
  }
}
