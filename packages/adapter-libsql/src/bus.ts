import type { InvalidationBus } from "@authcache/core";
import { createLogBus, type LogReader } from "@authcache/core/adapter";
import type { Client } from "@libsql/client";
import { type Connection, connect, type LibsqlConnectionOptions } from "./connection.ts";

export interface LibsqlBusOptions extends LibsqlConnectionOptions {
  /** How often each follower polls the log, in ms (default 100). Every poll that reaches the
   *  end of the log confirms "caught up", so keep it well below the cache's `maxStaleMs`
   *  (and below the 250 ms confirm interval core expects). */
  pollIntervalMs?: number;
  /** A poll still unanswered after this many ms reports "down" and is abandoned (default
   *  1000); the next poll starts from the same position. */
  pollTimeoutMs?: number;
  /** Rows kept in the log (default 10 000). A follower further behind than this resets. */
  maxLength?: number;
  /** Rows older than this (ms) are trimmed even below `maxLength` (default 600 000). */
  retentionMs?: number;
  /** Publishing trims the log at most this often, in ms (default 1000). */
  trimIntervalMs?: number;
  /** Rows read per poll (default 500); a full page polls again at once. */
  pageSize?: number;
}

/** The libSQL bus, plus the client and a trim hook. */
export interface LibsqlBus extends InvalidationBus {
  readonly client: Client;
  /** Trims the log to `maxLength` rows and `retentionMs` age now (never the newest row);
   *  returns how many rows went. */
  trim(): Promise<number>;
}

const PKG = "@authcache/adapter-libsql (bus)";

/** A new log identity, safe to interpolate (hex and dashes). */
const newEpoch = (): string => globalThis.crypto.randomUUID();

/** The row at id 0 holds the log's identity (its epoch) in `message`. It lives and dies with the
 *  table: a table dropped and created again gets a new epoch, however many rows it then holds. */
const identityRow = (p: string) =>
  `INSERT OR IGNORE INTO ${p}log (id, message, created_at) VALUES (0, '${newEpoch()}', ${Date.now()})`;

function schema(p: string): string[] {
  return [
    // AUTOINCREMENT: ids are never reused, even after every row was trimmed, and have no gaps
    // (an insert that rolls back also rolls back its sequence bump): the id is the entry's
    // sequence number, whoever inserts it (a plain INSERT from another system included), and
    // sqlite_sequence holds the newest one even when trimming removed it.
    `CREATE TABLE IF NOT EXISTS ${p}log (id INTEGER PRIMARY KEY AUTOINCREMENT, message TEXT NOT NULL, created_at INTEGER NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${p}log_created ON ${p}log (created_at)`,
    identityRow(p),
  ];
}

/**
 * An invalidation bus on a change-log table, followed by core's follower (`createLogBus`):
 * `publish` appends a row (its autoincrement id is its sequence number); each follower polls for
 * rows after its position every `pollIntervalMs`, reading the log's identity (row 0), its head
 * (`sqlite_sequence`) and the next page in one statement, so one snapshot. A poll that reaches
 * the end confirms with the time it was sent. A follower resets when rows it had not read were
 * trimmed or deleted, or when the table was recreated (a new identity row), whatever it holds.
 * Publishers trim the log to a cap and an age. Malformed rows are dropped and counted.
 */
export function createLibsqlBus(options: LibsqlBusOptions): LibsqlBus {
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const pollTimeoutMs = options.pollTimeoutMs ?? 1000;
  const maxLength = options.maxLength ?? 10_000;
  const retentionMs = options.retentionMs ?? 600_000;
  const trimIntervalMs = options.trimIntervalMs ?? 1000;
  const pageSize = options.pageSize ?? 500;
  for (const [name, value] of Object.entries({
    pollIntervalMs,
    pollTimeoutMs,
    maxLength,
    retentionMs,
    pageSize,
  })) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new RangeError(`${PKG}: ${name} must be > 0, got ${value}`);
    }
  }
  const db: Connection = connect("bus", options, schema);
  const p = db.prefix;
  let closed = false;
  let lastTrim = 0;
  let trimming: Promise<number> | undefined;

  const reader: LogReader = {
    async end() {
      // Creates the identity row if the table lost it (recreated by someone else).
      const [, rs] = await db.batch(
        [
          { sql: identityRow(p), args: [] },
          {
            sql: `SELECT (SELECT message FROM ${p}log WHERE id = 0) AS epoch,
                         coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0) AS head`,
            args: [`${p}log`],
          },
        ],
        "write",
      );
      const row = rs?.rows[0];
      if (!row || typeof row.epoch !== "string") throw new Error(`${PKG}: the log has no identity`);
      return { epoch: row.epoch, seq: Number(row.head) };
    },
    async read(after, limit) {
      const rs = await db.run({
        sql: `SELECT NULL AS id, NULL AS message, (SELECT message FROM ${p}log WHERE id = 0) AS epoch,
                     coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?3), 0) AS head
              UNION ALL
              SELECT * FROM (SELECT id, message, NULL, NULL FROM ${p}log WHERE id > ?1 ORDER BY id LIMIT ?2)`,
        args: [after.seq, limit, `${p}log`],
      });
      let epoch: string | undefined;
      let head = 0;
      const entries: { seq: number; data: unknown }[] = [];
      for (const row of rs.rows) {
        if (row.id === null) {
          epoch = typeof row.epoch === "string" ? row.epoch : undefined;
          head = Number(row.head ?? 0);
        } else {
          entries.push({ seq: Number(row.id), data: row.message });
        }
      }
      entries.sort((a, b) => a.seq - b.seq);
      return { epoch, head, entries };
    },
    close() {},
  };

  const trim = (): Promise<number> => {
    trimming ??= (async () => {
      try {
        const [byLength, byAge] = await db.batch(
          [
            {
              sql: `DELETE FROM ${p}log WHERE id > 0 AND id <= (SELECT max(id) FROM ${p}log) - ?1`,
              args: [maxLength],
            },
            {
              sql: `DELETE FROM ${p}log WHERE id > 0 AND created_at < ?1 AND id < (SELECT max(id) FROM ${p}log)`,
              args: [Date.now() - retentionMs],
            },
          ],
          "write",
        );
        return (byLength?.rowsAffected ?? 0) + (byAge?.rowsAffected ?? 0);
      } finally {
        trimming = undefined;
      }
    })();
    return trimming;
  };

  const inner = createLogBus(
    {
      name: "libsql",
      blockMs: 0,
      pollIntervalMs,
      async append(data) {
        await db.run({
          sql: `INSERT INTO ${p}log (message, created_at) VALUES (?1, ?2)`,
          args: [data, Date.now()],
        });
        if (Date.now() - lastTrim >= trimIntervalMs) {
          lastTrim = Date.now();
          // Not awaited: trimming is housekeeping, and a failed trim is retried next time.
          trim().catch(() => undefined);
        }
      },
      openReader: () => reader,
      async close() {
        await trimming?.catch(() => undefined);
        db.close();
      },
    },
    { errorPrefix: PKG, batchSize: pageSize, replyTimeoutMs: pollTimeoutMs },
  );

  return {
    name: "libsql",
    client: db.client,
    trim,
    get dropped() {
      return inner.dropped;
    },
    async publish(message) {
      if (closed) throw new Error(`${PKG}: publish after close()`);
      await inner.publish(message);
    },
    async subscribe(handlers) {
      if (closed) throw new Error(`${PKG}: subscribe after close()`);
      return inner.subscribe(handlers);
    },
    onState: (listener) => inner.onState(listener),
    async close() {
      if (closed) return;
      closed = true;
      await inner.close();
    },
  } satisfies LibsqlBus;
}
