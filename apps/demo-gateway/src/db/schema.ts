/**
 * The gateway's tables, in Drizzle's SQLite dialect (libSQL). Times are epoch milliseconds in
 * integer columns, so a revocation poll can compare them without parsing.
 * The SQL that creates these tables lives in `migrations.ts`; keep the two in step.
 */
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const users = sqliteTable("users", {
  email: text("email").primaryKey(),
  fullName: text("full_name").notNull(),
  isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
  isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
  createdAt: integer("created_at").notNull(),
});

export const teams = sqliteTable(
  "teams",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    isPersonal: integer("is_personal", { mode: "boolean" }).notNull().default(false),
    /** Set for personal teams only: the user the team belongs to. */
    ownerEmail: text("owner_email").references(() => users.email),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("teams_owner_email_idx").on(t.ownerEmail)],
);

export const teamMembers = sqliteTable(
  "team_members",
  {
    teamId: text("team_id")
      .notNull()
      .references(() => teams.id),
    userEmail: text("user_email")
      .notNull()
      .references(() => users.email),
    role: text("role").notNull(),
    isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
    joinedAt: integer("joined_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.userEmail] }),
    index("team_members_user_email_idx").on(t.userEmail),
  ],
);

export const apiTokens = sqliteTable(
  "api_tokens",
  {
    jti: text("jti").primaryKey(),
    userEmail: text("user_email")
      .notNull()
      .references(() => users.email),
    name: text("name").notNull(),
    /** JSON array of team ids the token is scoped to, or null for the user's own teams. */
    teams: text("teams"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("api_tokens_user_email_idx").on(t.userEmail)],
);

export const tokenRevocations = sqliteTable(
  "token_revocations",
  {
    jti: text("jti").primaryKey(),
    revokedAt: integer("revoked_at").notNull(),
    revokedBy: text("revoked_by"),
    reason: text("reason"),
    /** The token's own expiry when known: the cache keeps the revocation until then. */
    expiresAt: integer("expires_at"),
  },
  (t) => [index("token_revocations_revoked_at_idx").on(t.revokedAt)],
);

/** Filled by a trigger on token_revocations (migration 2); `seq` is the database's order. */
export const tokenRevocationChanges = sqliteTable("token_revocation_changes", {
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  jti: text("jti").notNull(),
  expiresAt: integer("expires_at"),
});

export type UserRow = typeof users.$inferSelect;
export type TeamRow = typeof teams.$inferSelect;
export type TeamMemberRow = typeof teamMembers.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type TokenRevocationRow = typeof tokenRevocations.$inferSelect;
