/** Small fixtures shared by the scenario tests: a silent logger and a minimal auth context. */
import { silentLogger } from "@authcache/core";

/** A logger that prints nothing (core's own). */
export const quiet = silentLogger;

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
