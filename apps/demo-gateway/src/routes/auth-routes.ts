import type { Hono } from "hono";
import type { GatewayEnv } from "../auth.ts";
import { caller, type RouteDeps } from "./deps.ts";

export function registerAuthRoutes(app: Hono<GatewayEnv>, deps: RouteDeps): void {
  app.get("/auth/me", (c) => {
    const me = caller(c);
    return c.json({
      email: me.email,
      fullName: me.user.fullName,
      isAdmin: me.user.isAdmin,
      personalTeamId: me.personalTeamId,
      // A copy: the cache's list is frozen, and JavaScriptCore's JSON.stringify (and slice) take
      // a slow path on frozen arrays (about 3x); an indexed loop is the cheapest copy.
      teams: copyList(me.teams),
      token: {
        jti: me.jti,
        expiresAt: isoTime(me.tokenExpiresAt),
        scopedTeams: me.scopedTeams ?? null,
      },
    });
  });

  app.post("/auth/logout", async (c) => {
    const me = caller(c);
    await deps.writes.revokeToken({
      jti: me.jti,
      expiresAt: me.tokenExpiresAt,
      revokedBy: me.email,
      reason: "logout",
    });
    return c.json({ revoked: true, jti: me.jti });
  });
}

function copyList(list: readonly string[]): string[] {
  const n = list.length;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = list[i] as string;
  return out;
}

/** `new Date(ms).toISOString()`, remembered for the last few hundred instants (a token's expiry
 *  is asked for on each of its requests). */
const isoTimes = new Map<number, string>();
function isoTime(ms: number): string {
  let iso = isoTimes.get(ms);
  if (iso === undefined) {
    iso = new Date(ms).toISOString();
    if (isoTimes.size >= 512) isoTimes.clear();
    isoTimes.set(ms, iso);
  }
  return iso;
}
