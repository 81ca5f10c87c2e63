/** Team routes: the caller's role, and member management (team owners and global admins). */
import type { Hono } from "hono";
import type { GatewayEnv } from "../auth.ts";
import { addMemberBody, BadRequest, changeRoleBody, jsonBody } from "../validation.ts";
import { caller, forbidden, type GatewayContext, notFound, type RouteDeps } from "./deps.ts";

export function registerTeamRoutes(app: Hono<GatewayEnv>, deps: RouteDeps): void {
  // null = not a member (cached like any answer); undefined cannot come from this loader.
  const roleOf = async (email: string, teamId: string): Promise<string | null> =>
    (await deps.cache.resolveUserRole(email, teamId, () =>
      deps.data.loadUserRole(email, teamId),
    )) ?? null;

  /** Returns a 403/404 response when the caller may not manage the team's members. */
  const guardManager = async (c: GatewayContext, teamId: string) => {
    const me = caller(c);
    if (!me.user.isAdmin && (await roleOf(me.email, teamId)) !== "owner") {
      return forbidden(c, `Only an owner of team ${teamId} or an admin may manage its members`);
    }
    const team = await deps.data.getTeam(teamId);
    if (!team) return notFound(c, `No team ${teamId}`);
    if (team.isPersonal) {
      throw new BadRequest(`Team ${teamId} is a personal team: its members cannot change`);
    }
    return undefined;
  };

  app.get("/teams/:id/role", async (c) => {
    const teamId = c.req.param("id");
    const me = caller(c);
    const role = await roleOf(me.email, teamId);
    if (role === null) return forbidden(c, `Not a member of team ${teamId}`);
    return c.json({ teamId, email: me.email, role });
  });

  app.post("/teams/:id/members", jsonBody(addMemberBody), async (c) => {
    const teamId = c.req.param("id");
    const { email, role } = c.req.valid("json");
    const refused = await guardManager(c, teamId);
    if (refused) return refused;
    const user = await deps.data.getUser(email);
    if (!user) return notFound(c, `No user ${email}`);
    await deps.writes.addMember(teamId, email, role);
    return c.json({ teamId, email, role }, 201);
  });

  app.patch("/teams/:id/members/:email", jsonBody(changeRoleBody), async (c) => {
    const teamId = c.req.param("id");
    const email = c.req.param("email");
    const { role } = c.req.valid("json");
    const refused = await guardManager(c, teamId);
    if (refused) return refused;
    if (!(await deps.writes.changeRole(teamId, email, role))) {
      return notFound(c, `${email} is not a member of team ${teamId}`);
    }
    return c.json({ teamId, email, role });
  });

  app.delete("/teams/:id/members/:email", async (c) => {
    const teamId = c.req.param("id");
    const email = c.req.param("email");
    const refused = await guardManager(c, teamId);
    if (refused) return refused;
    if (!(await deps.writes.removeMember(teamId, email))) {
      return notFound(c, `${email} is not a member of team ${teamId}`);
    }
    return c.json({ teamId, email, removed: true });
  });
}
