/** Admin routes: issue and revoke tokens, activate and deactivate users. Global admins only. */
import type { Hono, MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../auth.ts";
import { BadRequest, jsonBody, mintTokenBody, revokeBody } from "../validation.ts";
import { caller, forbidden, notFound, type RouteDeps } from "./deps.ts";

export const requireAdmin: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  if (!caller(c).user.isAdmin) return forbidden(c, "Admin role required");
  await next();
};

export function registerAdminRoutes(app: Hono<GatewayEnv>, deps: RouteDeps): void {
  app.use("/admin/*", requireAdmin);

  app.post("/admin/tokens", jsonBody(mintTokenBody), async (c) => {
    const body = c.req.valid("json");
    const email = body.email;
    const name = body.name ?? "api token";
    const ttlSeconds = body.ttlSeconds ?? undefined;
    const teams = body.teams ?? undefined;

    const user = await deps.data.getUser(email);
    if (!user) return notFound(c, `No user ${email}`);
    if (!user.isActive) throw new BadRequest(`"email": user ${email} is deactivated`, "email");
    if (teams && !(await deps.data.loadMembershipValid(email, teams))) {
      throw new BadRequest(`"teams" lists a team ${email} is not an active member of`, "teams");
    }

    const minted = await deps.jwt.mint(email, {
      ...(ttlSeconds ? { ttlSeconds } : {}),
      ...(teams ? { teams } : {}),
    });
    await deps.writes.recordToken({
      jti: minted.jti,
      userEmail: email,
      name,
      teams: teams ?? null,
      createdAt: deps.now(),
      expiresAt: minted.expiresAt,
    });
    return c.json(
      {
        token: minted.token,
        jti: minted.jti,
        email,
        name,
        teams: teams ?? null,
        expiresAt: new Date(minted.expiresAt).toISOString(),
      },
      201,
    );
  });

  app.post("/admin/tokens/:jti/revoke", jsonBody(revokeBody), async (c) => {
    const jti = c.req.param("jti");
    const reason = c.req.valid("json").reason ?? "revoked by admin";
    if (jti.length > 200) throw new BadRequest("jti is too long", "jti");
    // The token's expiry, when this gateway issued it, bounds how long the revocation is kept.
    const token = await deps.data.getApiToken(jti);
    const inserted = await deps.writes.revokeToken({
      jti,
      expiresAt: token?.expiresAt ?? null,
      revokedBy: caller(c).email,
      reason,
    });
    return c.json({ jti, revoked: true, alreadyRevoked: !inserted });
  });

  for (const [action, active] of [
    ["activate", true],
    ["deactivate", false],
  ] as const) {
    app.post(`/admin/users/:email/${action}`, async (c) => {
      const email = c.req.param("email");
      if (!(await deps.writes.setUserActive(email, active))) {
        return notFound(c, `No user ${email}`);
      }
      return c.json({ email, isActive: active });
    });
  }
}
