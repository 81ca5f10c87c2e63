/**
 * Every database write the gateway makes, each next to the cache invalidation it needs. Routes
 * call these and nothing else that writes: they see the database's reads and the cache's
 * `resolve*` only (`RouteDeps`), so a write cannot be added without passing through here.
 *
 * Order, in every write: the database first, then the invalidation, awaited. Once a write has
 * returned, every instance stops serving the old value within the cache's `maxStaleMs` (the
 * cache's promise; `test/writes.test.ts` checks it on a second instance for every write below).
 * An invalidation that fails makes the write throw (500) after the row changed; the caller may
 * retry: every write here is idempotent, and a retry reaches the invalidation again (a repeated
 * UPDATE still matches its row; a repeated removal or revocation, which changes nothing,
 * invalidates anyway).
 *
 * | write            | database                           | invalidation                          |
 * |------------------|------------------------------------|---------------------------------------|
 * | addMember        | upsert team_members (active, role) | invalidateTeam(email)                 |
 * | changeRole       | team_members.role                  | invalidateUserRole(email, teamId)     |
 * | removeMember     | team_members.is_active = false     | invalidateTeam(email)                 |
 * | setUserActive    | users.is_active                    | invalidateUser(email)                 |
 * | revokeToken      | insert token_revocations           | invalidateRevocation(jti, expiresAt)  |
 * | recordToken      | insert api_tokens                  | none (a new jti is in no cache)       |
 */
import type { GatewayCache } from "./cache.ts";
import type { DataAccess, NewApiToken } from "./data-access.ts";
import type { RevocationSync } from "./revocation-sync.ts";

export interface WritesDeps {
  readonly data: Pick<
    DataAccess,
    | "upsertMember"
    | "setMemberRole"
    | "removeMember"
    | "setUserActive"
    | "insertRevocation"
    | "insertApiToken"
  >;
  readonly cache: Pick<
    GatewayCache,
    "invalidateTeam" | "invalidateUserRole" | "invalidateUser" | "invalidateRevocation"
  >;
  /** The revocation poller, told about this process's own revocations so it skips them. */
  readonly revocations?: Pick<RevocationSync, "markApplied"> | undefined;
  readonly now: () => number;
}

export interface RevokeToken {
  readonly jti: string;
  /** The token's expiry (epoch ms) when known: it bounds how long the revocation is kept. */
  readonly expiresAt: number | null;
  readonly revokedBy: string;
  readonly reason: string;
}

export interface Writes {
  /**
   * Adds `email` to the team with `role`, or reactivates / re-roles their membership.
   * Invalidates the user's team-derived entries (roles, team lists, membership checks, contexts):
   * a new team changes all of them, not just the role in this team.
   */
  addMember(teamId: string, email: string, role: string): Promise<void>;
  /**
   * Changes an active member's role. Returns false (nothing written, nothing invalidated) when
   * there is no active membership. Invalidates that one role: team lists and membership checks
   * do not depend on the role.
   */
  changeRole(teamId: string, email: string, role: string): Promise<boolean>;
  /**
   * Ends an active membership. Returns false when there was none, and invalidates either way (a
   * retry of a removal whose invalidation failed finds no active row). Invalidates the user's
   * team-derived entries (the team leaves their list, their role in it, scoped-token checks).
   */
  removeMember(teamId: string, email: string): Promise<boolean>;
  /**
   * Activates or deactivates an account. Returns false when the user does not exist.
   * Invalidates everything cached about the user (their auth contexts carry `isActive`).
   */
  setUserActive(email: string, active: boolean): Promise<boolean>;
  /**
   * Revokes a token. Returns false when it was already revoked; invalidates either way (a
   * retry after a failed invalidation must be able to finish the job). Marks the revocation
   * applied so this process's change-log poll does not apply it a second time.
   */
  revokeToken(revocation: RevokeToken): Promise<boolean>;
  /** Records an issued token. No invalidation: its jti is new, so no cache holds anything for it. */
  recordToken(token: NewApiToken): Promise<void>;
}

/** The names of every write, for tests that must cover each one. */
export const WRITE_NAMES = [
  "addMember",
  "changeRole",
  "removeMember",
  "setUserActive",
  "revokeToken",
  "recordToken",
] as const satisfies readonly (keyof Writes)[];

export function createWrites(deps: WritesDeps): Writes {
  const { data, cache } = deps;
  return {
    async addMember(teamId, email, role) {
      await data.upsertMember(teamId, email, role, deps.now());
      await cache.invalidateTeam(email);
    },

    async changeRole(teamId, email, role) {
      if (!(await data.setMemberRole(teamId, email, role))) return false;
      await cache.invalidateUserRole(email, teamId);
      return true;
    },

    async removeMember(teamId, email) {
      const removed = await data.removeMember(teamId, email);
      await cache.invalidateTeam(email);
      return removed;
    },

    async setUserActive(email, active) {
      if (!(await data.setUserActive(email, active))) return false;
      await cache.invalidateUser(email);
      return true;
    },

    async revokeToken({ jti, expiresAt, revokedBy, reason }) {
      const inserted = await data.insertRevocation({
        jti,
        revokedAt: deps.now(),
        revokedBy,
        reason,
        expiresAt,
      });
      await cache.invalidateRevocation(jti, expiresAt ?? undefined);
      if (inserted) deps.revocations?.markApplied(jti);
      return inserted;
    },

    async recordToken(token) {
      await data.insertApiToken(token);
    },
  };
}
