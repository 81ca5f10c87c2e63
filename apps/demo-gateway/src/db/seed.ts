/**
 * Demo data: a few users, their personal teams, two shared teams. Every insert is
 * INSERT OR IGNORE on a fixed key, so seeding again never undoes a change made since
 * (a deactivated user stays deactivated).
 */
import type { Client, InStatement } from "@libsql/client";

export interface SeedUser {
  readonly email: string;
  readonly fullName: string;
  readonly isAdmin: boolean;
}

export const seedUsers: readonly SeedUser[] = [
  { email: "admin@example.com", fullName: "Ada Admin", isAdmin: true },
  { email: "alice@example.com", fullName: "Alice Anders", isAdmin: false },
  { email: "bob@example.com", fullName: "Bob Brown", isAdmin: false },
  { email: "carol@example.com", fullName: "Carol Clark", isAdmin: false },
];

/** Shared teams and their members (role per e-mail). */
export const seedTeams: readonly {
  id: string;
  name: string;
  members: Readonly<Record<string, string>>;
}[] = [
  {
    id: "team-platform",
    name: "Platform",
    members: { "admin@example.com": "owner", "alice@example.com": "member" },
  },
  {
    id: "team-research",
    name: "Research",
    members: { "alice@example.com": "owner", "bob@example.com": "member" },
  },
];

/** The personal team id of a user: stable, derived from the e-mail. */
export function personalTeamId(email: string): string {
  return `personal:${email}`;
}

/** Inserts the seed rows that are missing, in one transaction. */
export async function seed(client: Client, now = Date.now()): Promise<void> {
  const stmts: InStatement[] = [];
  for (const u of seedUsers) {
    stmts.push({
      sql: "INSERT OR IGNORE INTO users (email, full_name, is_admin, is_active, created_at) VALUES (?, ?, ?, 1, ?)",
      args: [u.email, u.fullName, u.isAdmin ? 1 : 0, now],
    });
    stmts.push({
      sql: "INSERT OR IGNORE INTO teams (id, name, is_personal, owner_email, created_at) VALUES (?, ?, 1, ?, ?)",
      args: [personalTeamId(u.email), `${u.fullName} (personal)`, u.email, now],
    });
    stmts.push({
      sql: "INSERT OR IGNORE INTO team_members (team_id, user_email, role, is_active, joined_at) VALUES (?, ?, 'owner', 1, ?)",
      args: [personalTeamId(u.email), u.email, now],
    });
  }
  for (const t of seedTeams) {
    stmts.push({
      sql: "INSERT OR IGNORE INTO teams (id, name, is_personal, owner_email, created_at) VALUES (?, ?, 0, NULL, ?)",
      args: [t.id, t.name, now],
    });
    for (const [email, role] of Object.entries(t.members)) {
      stmts.push({
        sql: "INSERT OR IGNORE INTO team_members (team_id, user_email, role, is_active, joined_at) VALUES (?, ?, ?, 1, ?)",
        args: [t.id, email, role, now],
      });
    }
  }
  await client.batch(stmts, "write");
}
