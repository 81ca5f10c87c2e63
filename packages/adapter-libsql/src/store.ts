import type { Store } from "@authcache/core";
import type { Fence, MemberCheck, ReadResult } from "@authcache/core/adapter";
import type { Client, InStatement, InValue, ResultSet } from "@libsql/client";
import { type Connection, connect, type LibsqlConnectionOptions } from "./connection.ts";

export interface LibsqlStoreOptions extends LibsqlConnectionOptions {
  /** How often expired rows are pruned, in ms (default 1000). The timer is unref'd. */
  pruneIntervalMs?: number;
  /** Rows deleted per prune statement (default 500): small enough that a prune holds the
   *  write lock for milliseconds; a full batch schedules the next one right away. */
  pruneBatchSize?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
  /** Called when a background prune fails (it is retried at the next interval). */
  onError?: (error: unknown) => void;
}

/** The libSQL Store, plus what tests and operators need to see. */
export interface LibsqlStore extends Store {
  /** The client in use (the one given, or the one opened from `url`). */
  readonly client: Client;
  /** Deletes expired rows now, in batches; returns how many rows went. */
  prune(): Promise<number>;
  /** Background prunes that failed so far. */
  readonly pruneErrors: number;
}

/** A counter written without a deadline lives "forever": the largest epoch ms a Date holds. */
const NEVER = 8_640_000_000_000_000;
/** SQLite's bound-parameter limit is 32766 on current builds but 999 on old ones; stay below. */
const CHUNK = 400;

function schema(p: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${p}entries (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${p}entries_expires ON ${p}entries (expires_at)`,
    `CREATE TABLE IF NOT EXISTS ${p}owners (owner TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (owner, key)) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${p}owners_key ON ${p}owners (key)`,
    // An entry that goes (deleted, owner-deleted or pruned) takes its owner rows with it, so
    // the owner index never outgrows the live entries and deleteOwner is one statement.
    `CREATE TRIGGER IF NOT EXISTS ${p}entries_drop_owners AFTER DELETE ON ${p}entries BEGIN DELETE FROM ${p}owners WHERE key = OLD.key; END`,
    `CREATE TABLE IF NOT EXISTS ${p}members (set_key TEXT NOT NULL, member TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (set_key, member)) WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${p}members_expires ON ${p}members (expires_at)`,
  ];
}

const marks = (n: number, from: number): string =>
  Array.from({ length: n }, (_, i) => `?${from + i}`).join(", ");

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function finiteMs(name: string, value: number): number {
  if (!Number.isFinite(value)) {
    throw new RangeError(`@authcache/adapter-libsql (store): ${name} must be a finite epoch ms`);
  }
  return Math.floor(value);
}

/**
 * A Store on three tables: `entries` (key, value, expires_at; counters live here too, as
 * decimal strings, so `read` returns them like any value), `owners` (owner, key; indexed both
 * ways) and `members` (set_key, member, expires_at). Expired rows read as absent at once and
 * are deleted in small batches on an unref'd timer. Every write is one statement or one batch
 * (one transaction, one round trip); SQLITE_BUSY from another process is waited out, never
 * returned. Owners are added, never removed, by a later `set` of the same key: deleting an
 * old owner may also delete the newer entry (over-invalidation, never under-).
 */
export function createLibsqlStore(options: LibsqlStoreOptions): LibsqlStore {
  const db: Connection = connect("store", options, schema);
  const p = db.prefix;
  const now = options.now ?? Date.now;
  const pruneIntervalMs = options.pruneIntervalMs ?? 1000;
  const pruneBatchSize = options.pruneBatchSize ?? 500;
  if (!(pruneIntervalMs > 0) || !Number.isInteger(pruneBatchSize) || pruneBatchSize < 1) {
    throw new RangeError(
      "@authcache/adapter-libsql (store): pruneIntervalMs must be > 0 and pruneBatchSize a positive integer",
    );
  }

  const live = (key: string, at: number): InStatement => ({
    sql: `SELECT value FROM ${p}entries WHERE key = ?1 AND expires_at > ?2`,
    args: [key, at],
  });
  // The fence holds while the counter (missing or expired = 0) still reads `fence.value`.
  const fenceHolds = (k: number, v: number, at: number) =>
    `coalesce((SELECT CAST(value AS INTEGER) FROM ${p}entries WHERE key = ?${k} AND expires_at > ?${at}), 0) = ?${v}`;

  // Rows come back as (kind, a, b): kind 0 = a value (a = key, b = value), kind 1 = a live
  // member (a = set, b = member), so values and member checks can share one statement.
  // `from` is the number of the first parameter; ?1 is always the clock.
  const valuesSelect = (n: number, from: number) =>
    `SELECT 0 AS kind, key AS a, value AS b FROM ${p}entries WHERE expires_at > ?1 AND key IN (${marks(n, from)})`;
  const membersSelect = (n: number, from: number) =>
    `SELECT 1 AS kind, set_key AS a, member AS b FROM ${p}members WHERE expires_at > ?1 AND (set_key, member) IN (VALUES ${Array.from(
      { length: n },
      (_, i) => `(?${from + 2 * i}, ?${from + 1 + 2 * i})`,
    ).join(", ")})`;
  const readStatement = (keys: string[], checks: MemberCheck[], at: number): InStatement => {
    const parts: string[] = [];
    if (keys.length > 0) parts.push(valuesSelect(keys.length, 2));
    if (checks.length > 0) parts.push(membersSelect(checks.length, 2 + keys.length));
    return {
      sql: parts.join(" UNION ALL "),
      args: [at, ...keys, ...checks.flatMap((c) => [c.set, c.member])],
    };
  };
  const ownersStatement = (key: string, owners: string[]): { sql: string; args: InValue[] } => ({
    sql: `INSERT OR IGNORE INTO ${p}owners (owner, key) SELECT column1, ?1 FROM (VALUES ${owners
      .map((_, i) => `(?${2 + i})`)
      .join(", ")})`,
    args: [key, ...owners],
  });

  /** Runs read statements in one round trip: one statement alone, several as one read batch. */
  const readAll = async (statements: InStatement[]): Promise<ResultSet[]> => {
    if (statements.length === 0) return [];
    if (statements.length === 1) return [await db.run(statements[0] as InStatement)];
    return db.batch(statements, "read");
  };

  const writeAll = async (statements: InStatement[]): Promise<void> => {
    if (statements.length === 1) await db.run(statements[0] as InStatement);
    else if (statements.length > 1) await db.batch(statements, "write");
  };

  let closed = false;
  let pruneErrors = 0;
  let pruning: Promise<number> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const pruneOnce = async (): Promise<number> => {
    const at = now();
    const [entries, members] = await db.batch(
      [
        {
          sql: `DELETE FROM ${p}entries WHERE key IN (SELECT key FROM ${p}entries WHERE expires_at <= ?1 LIMIT ?2)`,
          args: [at, pruneBatchSize],
        },
        {
          sql: `DELETE FROM ${p}members WHERE (set_key, member) IN (SELECT set_key, member FROM ${p}members WHERE expires_at <= ?1 LIMIT ?2)`,
          args: [at, pruneBatchSize],
        },
      ],
      "write",
    );
    return (entries?.rowsAffected ?? 0) + (members?.rowsAffected ?? 0);
  };

  const prune = (): Promise<number> => {
    pruning ??= (async () => {
      let total = 0;
      try {
        // Batches until one comes back short; each batch is its own short transaction, and
        // the pause between them lets queued reads and writes (and other processes) in.
        for (let pass = 0; pass < 1000 && !closed; pass++) {
          const n = await pruneOnce();
          total += n;
          if (n < pruneBatchSize) break;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        return total;
      } finally {
        pruning = undefined;
      }
    })();
    return pruning;
  };

  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => {
      prune()
        .catch((error: unknown) => {
          pruneErrors++;
          options.onError?.(error);
        })
        .finally(schedule);
    }, pruneIntervalMs);
    (timer as { unref?: () => void }).unref?.();
  };
  schedule();

  const store = {
    name: "libsql",
    client: db.client,
    get pruneErrors() {
      return pruneErrors;
    },
    prune,

    async get(key: string): Promise<string | undefined> {
      const rs = await db.run(live(key, now()));
      return rs.rows[0]?.value as string | undefined;
    },

    async getMany(keys: string[]): Promise<(string | undefined)[]> {
      const at = now();
      const found = new Map<string, string>();
      for (const rs of await readAll(chunks(keys, CHUNK).map((c) => readStatement(c, [], at)))) {
        for (const row of rs.rows) found.set(row.a as string, row.b as string);
      }
      return keys.map((k) => found.get(k));
    },

    async read(keys: string[], members: MemberCheck[]): Promise<ReadResult> {
      const at = now();
      // One statement (one snapshot, one round trip) in the common case: the values and the
      // member checks of an L1 miss. A request too large for one statement becomes one read
      // batch (still one round trip, one transaction).
      const statements =
        keys.length + members.length === 0
          ? []
          : keys.length <= CHUNK && members.length <= CHUNK / 2
            ? [readStatement(keys, members, at)]
            : [
                ...chunks(keys, CHUNK).map((c) => readStatement(c, [], at)),
                ...chunks(members, CHUNK / 2).map((c) => readStatement([], c, at)),
              ];
      const values = new Map<string, string>();
      const present = new Set<string>();
      for (const rs of await readAll(statements)) {
        for (const row of rs.rows) {
          if (Number(row.kind) === 0) values.set(row.a as string, row.b as string);
          else present.add(JSON.stringify([row.a, row.b]));
        }
      }
      return {
        values: keys.map((k) => values.get(k)),
        members: members.map((m) => present.has(JSON.stringify([m.set, m.member]))),
      };
    },

    async set(key: string, value: string, expiresAt: number, owners: string[] = []) {
      const until = finiteMs("expiresAt", expiresAt);
      if (until <= now()) {
        // A past deadline leaves no live value: drop whatever was there.
        await db.run({ sql: `DELETE FROM ${p}entries WHERE key = ?1`, args: [key] });
        return;
      }
      const statements: InStatement[] = [
        {
          sql: `INSERT INTO ${p}entries (key, value, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
          args: [key, value, until],
        },
      ];
      if (owners.length > 0) statements.push(ownersStatement(key, owners));
      await writeAll(statements);
    },

    async setIfFence(
      key: string,
      value: string,
      expiresAt: number,
      fence: Fence,
      owners: string[] = [],
    ): Promise<boolean> {
      const until = finiteMs("expiresAt", expiresAt);
      const at = now();
      const statements: InStatement[] = [];
      if (until <= at) {
        // Written = the fence held; what is written is "no live value".
        statements.push(
          {
            sql: `SELECT 1 AS ok WHERE ${fenceHolds(1, 2, 3)}`,
            args: [fence.key, fence.value, at],
          },
          {
            sql: `DELETE FROM ${p}entries WHERE key = ?4 AND ${fenceHolds(1, 2, 3)}`,
            args: [fence.key, fence.value, at, key],
          },
        );
      } else {
        // The check and the write are one statement inside one BEGIN IMMEDIATE transaction,
        // so no incr (from this or another process) can land between them.
        statements.push({
          sql: `INSERT INTO ${p}entries (key, value, expires_at) SELECT ?4, ?5, ?6 WHERE ${fenceHolds(1, 2, 3)} ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at RETURNING 1 AS ok`,
          args: [fence.key, fence.value, at, key, value, until],
        });
        if (owners.length > 0) {
          const o = ownersStatement(key, owners);
          const base = 2 + owners.length;
          statements.push({
            sql: `${o.sql} WHERE ${fenceHolds(base, base + 1, base + 2)}`,
            args: [...o.args, fence.key, fence.value, at],
          });
        }
      }
      const [first] =
        statements.length === 1
          ? [await db.run(statements[0] as InStatement)]
          : await db.batch(statements, "write");
      return (first?.rows.length ?? 0) > 0;
    },

    async deleteMany(keys: string[]): Promise<void> {
      await writeAll(
        chunks([...new Set(keys)], CHUNK).map((c) => ({
          sql: `DELETE FROM ${p}entries WHERE key IN (${marks(c.length, 1)})`,
          args: c,
        })),
      );
    },

    async deleteOwner(owner: string): Promise<void> {
      // One statement: the entries go, and the trigger takes their owner rows (this owner's
      // included) with them. Cost: this owner's rows, through the (owner, key) primary key.
      await db.run({
        sql: `DELETE FROM ${p}entries WHERE key IN (SELECT key FROM ${p}owners WHERE owner = ?1)`,
        args: [owner],
      });
    },

    async incr(key: string, expiresAt?: number): Promise<number> {
      const until = expiresAt === undefined ? NEVER : finiteMs("expiresAt", expiresAt);
      // One atomic upsert: an expired counter restarts at 1; a live one keeps the later deadline.
      const rs = await db.run({
        sql: `INSERT INTO ${p}entries (key, value, expires_at) VALUES (?1, '1', ?2)
              ON CONFLICT (key) DO UPDATE SET
                value = CASE WHEN ${p}entries.expires_at > ?3 THEN CAST(CAST(${p}entries.value AS INTEGER) + 1 AS TEXT) ELSE '1' END,
                expires_at = CASE WHEN ${p}entries.expires_at > ?3 THEN max(${p}entries.expires_at, excluded.expires_at) ELSE excluded.expires_at END
              RETURNING CAST(value AS INTEGER) AS value`,
        args: [key, until, now()],
      });
      return Number(rs.rows[0]?.value);
    },

    async getCounter(key: string): Promise<number> {
      const rs = await db.run({
        sql: `SELECT CAST(value AS INTEGER) AS value FROM ${p}entries WHERE key = ?1 AND expires_at > ?2`,
        args: [key, now()],
      });
      const v = rs.rows[0]?.value;
      return v === undefined || v === null ? 0 : Number(v);
    },

    async addMember(set: string, member: string, expiresAt: number): Promise<void> {
      const until = finiteMs("expiresAt", expiresAt);
      await db.batch(
        [
          {
            sql: `INSERT INTO ${p}members (set_key, member, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (set_key, member) DO UPDATE SET expires_at = max(${p}members.expires_at, excluded.expires_at)`,
            args: [set, member, until],
          },
          // Piggy-backed pruning keeps the set bounded by its live members even between timer
          // prunes, at a cost bounded by the batch size.
          {
            sql: `DELETE FROM ${p}members WHERE (set_key, member) IN (SELECT set_key, member FROM ${p}members WHERE expires_at <= ?1 LIMIT 64)`,
            args: [now()],
          },
        ],
        "write",
      );
    },

    async hasMember(set: string, member: string): Promise<boolean> {
      const rs = await db.run(readStatement([], [{ set, member }], now()));
      return rs.rows.length > 0;
    },

    async countMembers(set: string): Promise<number> {
      const rs = await db.run({
        sql: `SELECT count(*) AS n FROM ${p}members WHERE set_key = ?1 AND expires_at > ?2`,
        args: [set, now()],
      });
      return Number(rs.rows[0]?.n ?? 0);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await pruning?.catch(() => undefined);
      db.close();
    },
  } satisfies LibsqlStore;
  return store;
}
