/**
 * The one rule for token scope. A token whose `teams` claim scopes it to teams T acts only
 * within T, on every route:
 *   - a route about one team (`/teams/:id/...`) needs `:id` in T;
 *   - a route that acts within the caller's teams (`/mcp`) sees only T (the bearer middleware
 *     already made `caller.teams` = T);
 *   - a route with powers over every team (`/admin/*`: minting tokens, revoking any token,
 *     (de)activating accounts) needs an unscoped token — so a scoped token can never mint or
 *     obtain a broader one;
 *   - a route about the token itself (`/auth/me`, `/auth/logout`) is allowed.
 * An unscoped token passes this rule everywhere; the route's own checks (admin role, team
 * owner, membership) still apply. Every authenticated route is listed in `ROUTE_SCOPES`, and
 * `createApp` installs authentication and this rule from that list only.
 */
import { bearerChallenge } from "@authcache/hono";
import type { Context, MiddlewareHandler } from "hono";
import { type Caller, type GatewayEnv, REALM } from "./auth.ts";

export type RouteScope =
  /** About the token itself. */
  | { readonly kind: "self" }
  /** About the team named by a path parameter. */
  | { readonly kind: "team"; readonly param: string }
  /** Within the caller's teams (the token's scope when it has one). */
  | { readonly kind: "caller-teams" }
  /** Powers over every team: unscoped tokens only. */
  | { readonly kind: "global" };

/** Path patterns (Hono syntax) of every authenticated route, with their scope. */
export const ROUTE_SCOPES: readonly { readonly path: string; readonly scope: RouteScope }[] = [
  { path: "/auth/*", scope: { kind: "self" } },
  { path: "/admin/*", scope: { kind: "global" } },
  { path: "/teams/:id/*", scope: { kind: "team", param: "id" } },
  { path: "/mcp", scope: { kind: "caller-teams" } },
];

/** Why `caller` may not use a route of `scope`, or undefined when it may. */
export function scopeRefusal(
  caller: Caller,
  scope: RouteScope,
  c: Pick<Context, "req">,
): string | undefined {
  const scoped = caller.scopedTeams;
  if (!scoped) return undefined;
  switch (scope.kind) {
    case "self":
    case "caller-teams":
      return undefined;
    case "team": {
      const team = c.req.param(scope.param) ?? "";
      return scoped.includes(team) ? undefined : `Token is not scoped to team ${team}`;
    }
    case "global":
      return "A token scoped to teams cannot use admin routes (they act on every team)";
  }
}

/** False for the kinds `scopeRefusal` never refuses (`self`, `caller-teams`): such a route
 *  needs no scope middleware (the bearer middleware already narrowed `caller.teams`). */
export function scopeCanRefuse(scope: RouteScope): boolean {
  return scope.kind === "team" || scope.kind === "global";
}

/** The middleware form of the rule, for one route pattern: 403 `insufficient_scope`. */
export function enforceScope(
  scope: RouteScope,
  resourceMetadata: (c: Context) => string,
): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const why = scopeRefusal(c.get("auth"), scope, c);
    if (why) {
      c.header(
        "WWW-Authenticate",
        bearerChallenge({
          realm: REALM,
          error: "insufficient_scope",
          errorDescription: why,
          resourceMetadata: resourceMetadata(c),
        }),
      );
      return c.json({ error: why }, 403);
    }
    await next();
  };
}
