import {
  type BusHandlers,
  type BusState,
  decodeMessage,
  encodeMessage,
  type InvalidationBus,
  type InvalidationMessage,
  type Unsubscribe,
} from "@authcache/core";
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

function schema(p: string): string[] {
  return [
    // AUTOINCREMENT: ids are never reused, even after every row was trimmed, so a follower's
    // position stays meaningful (and ids have no gaps: an insert that rolls back also rolls
    // back its sequence bump), which makes "trimmed past my position" a simple comparison.
    `CREATE TABLE IF NOT EXISTS ${p}log (id INTEGER PRIMARY KEY AUTOINCREMENT, message TEXT NOT NULL, created_at INTEGER NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${p}log_created ON ${p}log (created_at)`,
  ];
}

interface Follower {
  readonly handlers: BusHandlers;
  /** Id of the last row applied; undefined until the position is known. */
  lastId: number | undefined;
  stopped: boolean;
  /** Bumped when a poll is abandoned, so its late answer is ignored. */
  generation: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const unref = (t: ReturnType<typeof setTimeout>) => {
  (t as { unref?: () => void }).unref?.();
  return t;
};

/**
 * An invalidation bus on a change-log table: `publish` appends a row (autoincrement id);
 * every follower polls for rows after its position every `pollIntervalMs`, delivers them in
 * order and, when a poll reaches the end of the log, confirms `caughtUp` with the time the
 * poll started (everything published before then is in its snapshot). Publishers trim the
 * log to a cap and an age; a follower whose position was trimmed away gets `reset()`.
 * Malformed rows (written by someone else) are dropped and counted.
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
      throw new RangeError(`@authcache/adapter-libsql (bus): ${name} must be > 0, got ${value}`);
    }
  }
  const db: Connection = connect("bus", options, schema);
  const p = db.prefix;

  const followers = new Set<Follower>();
  const listeners = new Set<(state: BusState) => void>();
  let state: BusState | undefined;
  let dropped = 0;
  let closed = false;
  let lastTrim = 0;
  let trimming: Promise<number> | undefined;

  const setState = (next: BusState) => {
    if (state === next) return;
    state = next;
    for (const listener of [...listeners]) {
      try {
        listener(next);
      } catch {
        // a listener's failure is its own; the others still hear
      }
    }
  };

  // A handler that throws must not stall the log for the others (or for itself).
  const call = (fn: () => void) => {
    try {
      fn();
    } catch {
      // the cache logs its own errors; the position still advances
    }
  };

  const position = async (): Promise<number> => {
    const rs = await db.run({
      sql: `SELECT coalesce((SELECT max(id) FROM ${p}log), (SELECT seq FROM sqlite_sequence WHERE name = ?1), 0) AS hi`,
      args: [`${p}log`],
    });
    return Number(rs.rows[0]?.hi ?? 0);
  };

  /** One poll: the log's bounds and the next page, in one statement (one snapshot). A poll
   *  that was abandoned (its `generation` is no longer the follower's) or stopped meanwhile
   *  changes nothing when its answer finally comes. */
  const pollOnce = async (f: Follower, generation: number): Promise<boolean> => {
    const gone = () => f.stopped || generation !== f.generation;
    const startedAt = Date.now();
    if (f.lastId === undefined) {
      // Following (re)starts here after the position could not be read: anything before it
      // may have been missed, so the cache flushes.
      const hi = await position();
      if (gone()) return true;
      f.lastId = hi;
      call(() => f.handlers.reset());
      call(() => f.handlers.caughtUp(startedAt));
      return true;
    }
    const rs = await db.run({
      sql: `SELECT NULL AS id, NULL AS message, min(id) AS lo, max(id) AS hi FROM ${p}log
            UNION ALL
            SELECT * FROM (SELECT id, message, NULL, NULL FROM ${p}log WHERE id > ?1 ORDER BY id LIMIT ?2)`,
      args: [f.lastId, pageSize],
    });
    if (gone()) return true;
    let lo: number | undefined;
    let hi: number | undefined;
    const page: { id: number; message: unknown }[] = [];
    for (const row of rs.rows) {
      if (row.id === null) {
        lo = row.lo === null ? undefined : Number(row.lo);
        hi = row.hi === null ? undefined : Number(row.hi);
      } else {
        page.push({ id: Number(row.id), message: row.message });
      }
    }
    page.sort((a, b) => a.id - b.id);
    if (hi !== undefined && hi < f.lastId) {
      // The log is behind our position: it was recreated. Start over from its end.
      f.lastId = hi;
      call(() => f.handlers.reset());
    } else if (lo !== undefined && lo > f.lastId + 1) {
      // Rows we never saw were trimmed: we may have missed invalidations.
      call(() => f.handlers.reset());
    }
    for (const row of page) {
      if (gone()) return true;
      f.lastId = row.id;
      const message: InvalidationMessage | undefined = decodeMessage(row.message);
      if (message === undefined) dropped++;
      else call(() => f.handlers.message(message));
    }
    const atEnd = page.length < pageSize;
    if (atEnd && !gone()) call(() => f.handlers.caughtUp(startedAt));
    return atEnd;
  };

  const loop = (f: Follower, delay: number) => {
    if (f.stopped || closed) return;
    f.timer = unref(
      setTimeout(() => {
        const generation = ++f.generation;
        let settled = false;
        const watchdog = unref(
          setTimeout(() => {
            if (settled || f.stopped) return;
            // Abandon it: report down, and poll again from the same position.
            f.generation++;
            setState("down");
            loop(f, pollIntervalMs);
          }, pollTimeoutMs),
        );
        pollOnce(f, generation).then(
          (atEnd) => {
            settled = true;
            clearTimeout(watchdog);
            if (generation !== f.generation || f.stopped) return;
            setState("up");
            loop(f, atEnd ? pollIntervalMs : 0);
          },
          () => {
            settled = true;
            clearTimeout(watchdog);
            if (generation !== f.generation || f.stopped) return;
            setState("down");
            loop(f, pollIntervalMs);
          },
        );
      }, delay),
    );
  };

  const trim = (): Promise<number> => {
    trimming ??= (async () => {
      try {
        const [byLength, byAge] = await db.batch(
          [
            {
              sql: `DELETE FROM ${p}log WHERE id <= (SELECT max(id) FROM ${p}log) - ?1`,
              args: [maxLength],
            },
            {
              sql: `DELETE FROM ${p}log WHERE created_at < ?1 AND id < (SELECT max(id) FROM ${p}log)`,
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

  const bus = {
    name: "libsql",
    client: db.client,
    get dropped() {
      return dropped;
    },
    trim,

    async publish(message: InvalidationMessage): Promise<void> {
      if (closed) throw new Error("@authcache/adapter-libsql (bus): publish after close()");
      await db.run({
        sql: `INSERT INTO ${p}log (message, created_at) VALUES (?1, ?2)`,
        args: [encodeMessage(message), Date.now()],
      });
      if (Date.now() - lastTrim >= trimIntervalMs) {
        lastTrim = Date.now();
        // Not awaited: trimming is housekeeping, and a failed trim is retried next time.
        trim().catch(() => undefined);
      }
    },

    async subscribe(handlers: BusHandlers): Promise<Unsubscribe> {
      if (closed) throw new Error("@authcache/adapter-libsql (bus): subscribe after close()");
      const f: Follower = {
        handlers,
        lastId: undefined,
        stopped: false,
        generation: 0,
        timer: undefined,
      };
      followers.add(f);
      const startedAt = Date.now();
      try {
        // Bounded like a poll: a database that does not answer must not hang subscribe().
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = unref(setTimeout(() => reject(new Error("position timed out")), pollTimeoutMs));
        });
        f.lastId = await Promise.race([position(), timeout]).finally(() => clearTimeout(timer));
        setState("up");
        call(() => handlers.caughtUp(startedAt));
      } catch {
        // The database is unreachable: follow anyway; the first poll that works fixes the
        // position (and resets, since entries may have been missed meanwhile).
        setState("down");
      }
      loop(f, pollIntervalMs);
      return () => {
        f.stopped = true;
        if (f.timer !== undefined) clearTimeout(f.timer);
        followers.delete(f);
      };
    },

    onState(listener: (state: BusState) => void): Unsubscribe {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const f of followers) {
        f.stopped = true;
        if (f.timer !== undefined) clearTimeout(f.timer);
      }
      followers.clear();
      listeners.clear();
      await trimming?.catch(() => undefined);
      db.close();
    },
  } satisfies LibsqlBus;
  return bus;
}
