/**
 * Bearer authentication, as the reference design's flow:
 *   1. verify the JWT (its payload is never cached);
 *   2. the auth context from the cache; on a miss ONE batched database load
 *      (user, personal team, revocation row) filled through `resolveAuthContext`;
 *   3. 401 for a revoked token, an unknown user or a disabled account;
 *   4. the caller's teams: the user's teams through the cache, or, for a token scoped to teams,
 *      those teams once the cache confirms the user still belongs to all of them.
 */
import type { MiddlewareHandler } from "hono";
import type { GatewayCache } from "./cache.ts";
import type { DataAccess, UserRecord } from "./data-access.ts";
import { type JwtService, TokenError } from "./jwt.ts";
import type { AuthOutcome, Metrics } from "./metrics.ts";

/** The authenticated caller, available to handlers as `c.get("caller")`. */
export interface Caller {
  readonly email: string;
  readonly jti: string;
  /** Epoch ms. */
  readonly tokenExpiresAt: number;
  readonly user: UserRecord;
  readonly personalTeamId: string | null;
  /** The teams the request acts for (the token's scope, or every team of the user). */
  readonly teams: readonly string[];
  /** Set when the token is scoped to teams. */
  readonly scopedTeams?: readonly string[];
}

export interface GatewayEnv {
  Variables: { caller: Caller };
}

export interface AuthDeps {
  readonly cache: GatewayCache;
  readonly data: DataAccess;
  readonly jwt: JwtService;
  readonly metrics: Metrics;
  readonly onBackendError?: (error: unknown) => void;
}

const REALM = 'Bearer realm="authcache-demo"';

export function authenticate(deps: AuthDeps): MiddlewareHandler<GatewayEnv> {
  const { cache, data, jwt, metrics } = deps;

  return async (c, next) => {
    const refuse = (outcome: AuthOutcome, status: 401 | 403 | 503, message: string) => {
      metrics.recordAuth(outcome);
      if (status === 401) {
        c.header("WWW-Authenticate", `${REALM}, error="invalid_token"`);
      }
      return c.json({ error: message }, status);
    };

    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!match?.[1]) {
      metrics.recordAuth("missing_token");
      c.header("WWW-Authenticate", REALM);
      return c.json({ error: "Missing bearer token" }, 401);
    }

    let claims: Awaited<ReturnType<JwtService["verify"]>>;
    try {
      claims = await jwt.verify(match[1]);
    } catch (error) {
      if (error instanceof TokenError) return refuse("invalid_token", 401, error.message);
      throw error;
    }
    const { email, jti } = claims;

    let teams: readonly string[] | undefined;
    let ctx: Awaited<ReturnType<GatewayCache["resolveAuthContext"]>>;
    try {
      ctx = await cache.resolveAuthContext(email, jti, () => data.loadAuthContext(email, jti));
      // The loader always answers; undefined would mean the cache could not: fail closed.
      if (!ctx) throw new Error("the auth context could not be resolved");
      if (ctx.isTokenRevoked) return refuse("revoked", 401, "Token has been revoked");
      if (!ctx.user) return refuse("unknown_user", 401, "Unknown user");
      if (!ctx.user.isActive) return refuse("disabled", 401, "Account disabled");

      if (claims.teams) {
        const scoped = [...claims.teams];
        const valid = await cache.resolveTeamMembershipValid(email, scoped, () =>
          data.loadMembershipValid(email, scoped),
        );
        if (!valid) {
          return refuse(
            "forbidden_team",
            403,
            "Token is scoped to a team the user no longer belongs to",
          );
        }
        teams = scoped;
      } else {
        teams = await cache.resolveUserTeams(email, true, () => data.loadUserTeams(email, true));
        if (!teams) throw new Error("the user's teams could not be resolved");
      }
    } catch (error) {
      // Fail closed: when the context cannot be established, nobody gets in.
      deps.onBackendError?.(error);
      return refuse("backend_error", 503, "Authentication is temporarily unavailable");
    }

    metrics.recordAuth("ok");
    c.set("caller", {
      email,
      jti,
      tokenExpiresAt: claims.expiresAt,
      user: ctx.user,
      personalTeamId: ctx.personalTeamId,
      teams,
      ...(claims.teams ? { scopedTeams: claims.teams } : {}),
    });
    await next();
  };
}
