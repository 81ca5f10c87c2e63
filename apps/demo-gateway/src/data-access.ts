/**
 * Every query the gateway makes, one method per round trip, counted by kind. The hot path is
 * `loadAuthContext`: one batch (one round trip) for the user, the personal team and the
 * revocation row of the token.
 */
import { and, asc, eq, gt, inArray, max } from "drizzle-orm";
import type { Database } from "./db/client.ts";
import {
  apiTokens,
  teamMembers,
  teams,
  tokenRevocationChanges,
  tokenRevocations,
  users,
} from "./db/schema.ts";

/** The user record the gateway caches. It holds no secret (there is no password column). */
export interface UserRecord {
  readonly email: string;
  readonly fullName: string;
  readonly isAdmin: boolean;
  readonly isActive: boolean;
}

export interface AuthContextRow {
  /** null when no such user exists. */
  readonly user: UserRecord | null;
  readonly personalTeamId: string | null;
  readonly isTokenRevoked: boolean;
}

export interface RevocationRow {
  readonly jti: string;
  readonly revokedAt: number;
  readonly expiresAt: number | null;
}

/** One entry of the revocation change log; `seq` is assigned by the database. */
export interface RevocationChange {
  readonly seq: number;
  readonly jti: string;
  readonly expiresAt: number | null;
}

export interface RevocationSnapshot {
  /** Every revocation row. */
  readonly rows: RevocationRow[];
  /** The change log's last `seq` at the same instant (0 when empty). */
  readonly cursor: number;
}

export interface TeamRecord {
  readonly id: string;
  readonly name: string;
  readonly isPersonal: boolean;
}

export interface NewRevocation {
  readonly jti: string;
  readonly revokedAt: number;
  readonly revokedBy: string | null;
  readonly reason: string | null;
  readonly expiresAt: number | null;
}

export interface NewApiToken {
  readonly jti: string;
  readonly userEmail: string;
  readonly name: string;
  readonly teams: readonly string[] | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export type QueryKind =
  | "auth_context"
  | "user_teams"
  | "user_role"
  | "membership"
  | "user"
  | "team"
  | "token"
  | "revocations_all"
  | "revocation_changes"
  | "write_user"
  | "write_member"
  | "write_token"
  | "write_revocation";

export interface DataAccess {
  /** One batched round trip: user row, personal team id, revocation row of `jti`. */
  loadAuthContext(email: string, jti: string): Promise<AuthContextRow>;
  /** Active team ids of the user, sorted; with or without the personal team. */
  loadUserTeams(email: string, includePersonal: boolean): Promise<string[]>;
  /** The user's active role in the team, or null when not an active member. */
  loadUserRole(email: string, teamId: string): Promise<string | null>;
  /** True when the user is an active member of every team in `teamIds`. */
  loadMembershipValid(email: string, teamIds: readonly string[]): Promise<boolean>;
  getUser(email: string): Promise<UserRecord | undefined>;
  getTeam(teamId: string): Promise<TeamRecord | undefined>;
  getApiToken(jti: string): Promise<{ userEmail: string; expiresAt: number } | undefined>;
  /** Returns false when the user does not exist. */
  setUserActive(email: string, active: boolean): Promise<boolean>;
  /** Adds or reactivates a membership. Returns false if it was already active with that role. */
  upsertMember(teamId: string, email: string, role: string, now: number): Promise<boolean>;
  /** Returns false when there was no active membership to remove. */
  removeMember(teamId: string, email: string): Promise<boolean>;
  /** Returns false when there is no active membership to change. */
  setMemberRole(teamId: string, email: string, role: string): Promise<boolean>;
  insertApiToken(token: NewApiToken): Promise<void>;
  /** Records a revocation. Returns false if the jti was already revoked (nothing changed). */
  insertRevocation(revocation: NewRevocation): Promise<boolean>;
  listRevocations(): Promise<RevocationRow[]>;
  /** Every revocation and the change log's position, read in one transaction (one round trip). */
  loadRevocationSnapshot(): Promise<RevocationSnapshot>;
  /** Change-log entries with `seq > after`, in `seq` order, at most `limit`. */
  listRevocationChanges(after: number, limit: number): Promise<RevocationChange[]>;
  /** Round trips made so far, by kind. */
  queryCounts(): Record<QueryKind, number>;
  /** Sum of `queryCounts()`. */
  totalQueries(): number;
}

const KINDS: readonly QueryKind[] = [
  "auth_context",
  "user_teams",
  "user_role",
  "membership",
  "user",
  "team",
  "token",
  "revocations_all",
  "revocation_changes",
  "write_user",
  "write_member",
  "write_token",
  "write_revocation",
];

/** The row of `email`'s active membership in `teamId` (at most one). */
const activeMembership = (teamId: string, email: string) =>
  and(
    eq(teamMembers.teamId, teamId),
    eq(teamMembers.userEmail, email),
    eq(teamMembers.isActive, true),
  );

const userColumns = {
  email: users.email,
  fullName: users.fullName,
  isAdmin: users.isAdmin,
  isActive: users.isActive,
};

const revocationColumns = {
  jti: tokenRevocations.jti,
  revokedAt: tokenRevocations.revokedAt,
  expiresAt: tokenRevocations.expiresAt,
};

export function createDataAccess(database: Pick<Database, "db">): DataAccess {
  const { db } = database;
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<QueryKind, number>;
  const count = (kind: QueryKind) => {
    counts[kind] += 1;
  };

  return {
    async loadAuthContext(email, jti) {
      count("auth_context");
      const [userRows, teamRows, revokedRows] = await db.batch([
        db.select(userColumns).from(users).where(eq(users.email, email)).limit(1),
        db
          .select({ id: teams.id })
          .from(teams)
          .where(and(eq(teams.ownerEmail, email), eq(teams.isPersonal, true)))
          .limit(1),
        db
          .select({ jti: tokenRevocations.jti })
          .from(tokenRevocations)
          .where(eq(tokenRevocations.jti, jti))
          .limit(1),
      ]);
      return {
        user: userRows[0] ?? null,
        personalTeamId: teamRows[0]?.id ?? null,
        isTokenRevoked: revokedRows.length > 0,
      };
    },

    async loadUserTeams(email, includePersonal) {
      count("user_teams");
      const conditions = [eq(teamMembers.userEmail, email), eq(teamMembers.isActive, true)];
      if (!includePersonal) conditions.push(eq(teams.isPersonal, false));
      const rows = await db
        .select({ id: teamMembers.teamId })
        .from(teamMembers)
        .innerJoin(teams, eq(teams.id, teamMembers.teamId))
        .where(and(...conditions))
        .orderBy(asc(teamMembers.teamId));
      return rows.map((r) => r.id);
    },

    async loadUserRole(email, teamId) {
      count("user_role");
      const rows = await db
        .select({ role: teamMembers.role })
        .from(teamMembers)
        .where(activeMembership(teamId, email))
        .limit(1);
      return rows[0]?.role ?? null;
    },

    async loadMembershipValid(email, teamIds) {
      count("membership");
      const wanted = [...new Set(teamIds)];
      if (wanted.length === 0) return false;
      const rows = await db
        .select({ id: teamMembers.teamId })
        .from(teamMembers)
        .where(
          and(
            eq(teamMembers.userEmail, email),
            eq(teamMembers.isActive, true),
            inArray(teamMembers.teamId, wanted),
          ),
        );
      return rows.length === wanted.length;
    },

    async getUser(email) {
      count("user");
      const rows = await db.select(userColumns).from(users).where(eq(users.email, email)).limit(1);
      return rows[0];
    },

    async getTeam(teamId) {
      count("team");
      const rows = await db
        .select({ id: teams.id, name: teams.name, isPersonal: teams.isPersonal })
        .from(teams)
        .where(eq(teams.id, teamId))
        .limit(1);
      return rows[0];
    },

    async getApiToken(jti) {
      count("token");
      const rows = await db
        .select({ userEmail: apiTokens.userEmail, expiresAt: apiTokens.expiresAt })
        .from(apiTokens)
        .where(eq(apiTokens.jti, jti))
        .limit(1);
      return rows[0];
    },

    async setUserActive(email, active) {
      count("write_user");
      const rows = await db
        .update(users)
        .set({ isActive: active })
        .where(eq(users.email, email))
        .returning({ email: users.email });
      return rows.length > 0;
    },

    async upsertMember(teamId, email, role, now) {
      count("write_member");
      const rows = await db
        .insert(teamMembers)
        .values({ teamId, userEmail: email, role, isActive: true, joinedAt: now })
        .onConflictDoUpdate({
          target: [teamMembers.teamId, teamMembers.userEmail],
          set: { role, isActive: true, joinedAt: now },
        })
        .returning({ teamId: teamMembers.teamId });
      return rows.length > 0;
    },

    async removeMember(teamId, email) {
      count("write_member");
      const rows = await db
        .update(teamMembers)
        .set({ isActive: false })
        .where(activeMembership(teamId, email))
        .returning({ teamId: teamMembers.teamId });
      return rows.length > 0;
    },

    async setMemberRole(teamId, email, role) {
      count("write_member");
      const rows = await db
        .update(teamMembers)
        .set({ role })
        .where(activeMembership(teamId, email))
        .returning({ teamId: teamMembers.teamId });
      return rows.length > 0;
    },

    async insertApiToken(token) {
      count("write_token");
      await db.insert(apiTokens).values({
        jti: token.jti,
        userEmail: token.userEmail,
        name: token.name,
        teams: token.teams ? JSON.stringify(token.teams) : null,
        createdAt: token.createdAt,
        expiresAt: token.expiresAt,
      });
    },

    async insertRevocation(revocation) {
      count("write_revocation");
      const rows = await db
        .insert(tokenRevocations)
        .values(revocation)
        .onConflictDoNothing()
        .returning({ jti: tokenRevocations.jti });
      return rows.length > 0;
    },

    async listRevocations() {
      count("revocations_all");
      return db.select(revocationColumns).from(tokenRevocations);
    },

    async loadRevocationSnapshot() {
      count("revocations_all");
      const [last, rows] = await db.batch([
        db.select({ seq: max(tokenRevocationChanges.seq) }).from(tokenRevocationChanges),
        db.select(revocationColumns).from(tokenRevocations),
      ]);
      return { rows, cursor: last[0]?.seq ?? 0 };
    },

    async listRevocationChanges(after, limit) {
      count("revocation_changes");
      return db
        .select({
          seq: tokenRevocationChanges.seq,
          jti: tokenRevocationChanges.jti,
          expiresAt: tokenRevocationChanges.expiresAt,
        })
        .from(tokenRevocationChanges)
        .where(gt(tokenRevocationChanges.seq, after))
        .orderBy(asc(tokenRevocationChanges.seq))
        .limit(limit);
    },

    queryCounts: () => ({ ...counts }),
    totalQueries: () => KINDS.reduce((sum, k) => sum + counts[k], 0),
  };
}
