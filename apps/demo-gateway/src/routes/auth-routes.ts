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
      teams: me.teams,
      token: {
        jti: me.jti,
        expiresAt: new Date(me.tokenExpiresAt).toISOString(),
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
