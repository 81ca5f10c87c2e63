/** Small fixtures shared by the scenario tests: a silent logger and a minimal auth context. */
import type { Logger } from "@authcache/core/adapter";

/** A logger that prints nothing. */
export const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A valid, not-revoked auth context for `email`. */
export const context = (email: string) => ({
  user: {
    email,
    fullName: "U",
    isAdmin: false,
    isActive: true,
    authProvider: "local",
    createdAt: "2026-01-01T00:00:00.000Z",
  },
  personalTeamId: "t",
  isTokenRevoked: false,
});
