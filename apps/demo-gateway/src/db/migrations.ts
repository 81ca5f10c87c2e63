/**
 * Hand-written SQL migrations and the small migrator that applies them on start-up.
 * Each migration runs in one write transaction together with its bookkeeping row. The DDL uses
 * IF NOT EXISTS and the bookkeeping row INSERT OR IGNORE, so two processes starting on the same
 * database at once both succeed (the second one's statements are no-ops).
 */
import type { Client } from "@libsql/client";

export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly statements: readonly string[];
}

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: "initial schema",
    statements: [
      `CREATE TABLE IF NOT EXISTS users (
        email TEXT PRIMARY KEY NOT NULL,
        full_name TEXT NOT NULL,
        is_admin INTEGER NOT NULL DEFAULT 0,
        is_active INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS teams (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        is_personal INTEGER NOT NULL DEFAULT 0,
        owner_email TEXT REFERENCES users(email),
        created_at INTEGER NOT NULL
      )`,
      "CREATE INDEX IF NOT EXISTS teams_owner_email_idx ON teams(owner_email)",
      `CREATE TABLE IF NOT EXISTS team_members (
        team_id TEXT NOT NULL REFERENCES teams(id),
        user_email TEXT NOT NULL REFERENCES users(email),
        role TEXT NOT NULL,
        is_active INTEGER NOT NULL DEFAULT 1,
        joined_at INTEGER NOT NULL,
        PRIMARY KEY (team_id, user_email)
      )`,
      "CREATE INDEX IF NOT EXISTS team_members_user_email_idx ON team_members(user_email)",
      `CREATE TABLE IF NOT EXISTS api_tokens (
        jti TEXT PRIMARY KEY NOT NULL,
        user_email TEXT NOT NULL REFERENCES users(email),
        name TEXT NOT NULL,
        teams TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      )`,
      "CREATE INDEX IF NOT EXISTS api_tokens_user_email_idx ON api_tokens(user_email)",
      `CREATE TABLE IF NOT EXISTS token_revocations (
        jti TEXT PRIMARY KEY NOT NULL,
        revoked_at INTEGER NOT NULL,
        revoked_by TEXT,
        reason TEXT,
        expires_at INTEGER
      )`,
      "CREATE INDEX IF NOT EXISTS token_revocations_revoked_at_idx ON token_revocations(revoked_at)",
    ],
  },
  {
    id: 2,
    name: "revocation change log in database order",
    // The revocation poll follows `seq`, which the database assigns (AUTOINCREMENT: strictly
    // increasing, never reused) in commit order, whatever `revoked_at` a writer stamps. The
    // trigger fills it, so a writer only inserts into token_revocations.
    statements: [
      `CREATE TABLE IF NOT EXISTS token_revocation_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        jti TEXT NOT NULL,
        expires_at INTEGER
      )`,
      `CREATE TRIGGER IF NOT EXISTS token_revocations_log_insert
        AFTER INSERT ON token_revocations
        BEGIN
          INSERT INTO token_revocation_changes (jti, expires_at) VALUES (NEW.jti, NEW.expires_at);
        END`,
      `CREATE TRIGGER IF NOT EXISTS token_revocations_log_update
        AFTER UPDATE OF jti, expires_at ON token_revocations
        BEGIN
          INSERT INTO token_revocation_changes (jti, expires_at) VALUES (NEW.jti, NEW.expires_at);
        END`,
      // Rows written before this migration: logged once, oldest first.
      `INSERT INTO token_revocation_changes (jti, expires_at)
        SELECT jti, expires_at FROM token_revocations
        WHERE NOT EXISTS (SELECT 1 FROM token_revocation_changes)
        ORDER BY revoked_at, rowid`,
    ],
  },
];

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS __migrations (
  id INTEGER PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)`;

/** Applies every migration not yet recorded. Returns the ids it applied (empty when current). */
export async function migrate(
  client: Client,
  list: readonly Migration[] = migrations,
): Promise<number[]> {
  await client.execute(BOOKKEEPING);
  const done = await client.execute("SELECT id FROM __migrations");
  const applied = new Set(done.rows.map((r) => Number(r.id)));
  const ran: number[] = [];
  for (const m of [...list].sort((a, b) => a.id - b.id)) {
    if (applied.has(m.id)) continue;
    await client.batch(
      [
        ...m.statements,
        {
          sql: "INSERT OR IGNORE INTO __migrations (id, name, applied_at) VALUES (?, ?, ?)",
          args: [m.id, m.name, Date.now()],
        },
      ],
      "write",
    );
    ran.push(m.id);
  }
  return ran;
}
