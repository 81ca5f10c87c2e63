/**
 * Bearer authentication, as the reference design's flow, on `@authcache/hono`'s middleware:
 *   1. verify the JWT (HS256 pinned; its payload is never cached);
 *   2. the auth context from the cache; on a miss ONE batched database load
 *      (user, personal team, revocation row) filled through `resolveAuthContext`;
 *   3. 401 for a revoked token, an unknown user or a disabled account;
 *   4. the caller's teams: the user's teams through the cache, or, for a token scoped to teams,
 *      those teams once the cache confirms the user still belongs to all of them (else 403).
 * Every step runs on every request, so a change reaches an open session within `maxStaleMs`.
 * Step 1 alone may be remembered (`JWT_VERIFIED_TOKENS`, on by default): a token verified once
 * skips the signature check until its `exp` (at most `JWT_VERIFIED_TOKENS_MAX_AGE_SECONDS`), by
 * a digest of the token (`verifiedTokens` of `@authcache/hono`); steps 2 to 4 still run on
 * every request.
 */
import {
  type BearerAuthInfo,
  type AuthOutcome as BearerOutcome,
  bearerAuth,
  refusal,
} from "@authcache/hono";
import type { Context, MiddlewareHandler } from "hono";
import type { GatewayCache } from "./cache.ts";
import type { DataAccess, UserRecord } from "./data-access.ts";
import type { JwtService } from "./jwt.ts";
import type { AuthOutcome, Metrics } from "./metrics.ts";

/** The authenticated caller, available to handlers as `c.var.auth`. */
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
  /** The raw bearer token (handed to the MCP SDK as `authInfo.token`). */
  readonly token: string;
}

export interface GatewayEnv {
  Variables: { auth: Caller };
}

export interface AuthDeps {
  readonly cache: GatewayCache;
  readonly data: DataAccess;
  readonly jwt: JwtService;
  readonly metrics: Metrics;
  /** The RFC 9728 metadata URL for this request (sent as `resource_metadata`). */
  readonly resourceMetadata: (c: Context) => string;
  readonly onBackendError?: (error: unknown) => void;
}

export const REALM = "authcache-demo";

const OUTCOMES: Record<BearerOutcome, AuthOutcome> = {
  ok: "ok",
  missing_token: "missing_token",
  invalid_token: "invalid_token",
  revoked: "revoked",
  unknown_user: "unknown_user",
  disabled: "disabled",
  forbidden: "forbidden_team",
  backend_error: "backend_error",
};

export function authenticate(deps: AuthDeps): MiddlewareHandler<GatewayEnv> {
  const { cache, data, jwt, metrics } = deps;
  const v = jwt.verification;

  return bearerAuth<UserRecord, Caller>({
    key: v.key,
    algorithms: v.algorithms,
    issuer: v.issuer,
    audience: v.audience,
    clockToleranceSeconds: v.clockToleranceSeconds,
    now: v.now,
    verifiedTokens: v.verifiedTokens,
    cache,
    loadContext: (email, jti) => data.loadAuthContext(email, jti ?? ""),
    isActive: (user) => user.isActive,
    realm: REALM,
    resourceMetadata: deps.resourceMetadata,
    onOutcome: (outcome) => metrics.recordAuth(OUTCOMES[outcome]),
    onBackendError: (error) => deps.onBackendError?.(error),
    // The gateway's answers keep their shape: `{ "error": "<why>" }`.
    body: (r) => ({ error: r.message }),
    async authorize(info: BearerAuthInfo<UserRecord>) {
      const email = info.subject;
      const claimed = info.claims.teams;
      if (claimed !== undefined && !isTeamList(claimed)) {
        return refusal(401, 'Token claim "teams" must be an array of team ids');
      }
      let teams: readonly string[] | undefined;
      if (claimed) {
        const scoped = [...claimed];
        const valid = await cache.resolveTeamMembershipValid(email, scoped, () =>
          data.loadMembershipValid(email, scoped),
        );
        if (!valid) {
          return refusal(403, "Token is scoped to a team the user no longer belongs to");
        }
        teams = scoped;
      } else {
        teams = await cache.resolveUserTeams(email, true, () => data.loadUserTeams(email, true));
        // The loader always answers; undefined would mean the cache could not: fail closed.
        if (!teams) throw new Error("the user's teams could not be resolved");
      }
      const caller: Caller = {
        email,
        jti: info.jti,
        tokenExpiresAt: info.expiresAt * 1000,
        user: info.user,
        personalTeamId: info.personalTeamId,
        teams,
        token: info.token,
      };
      // No spread of an empty object on the unscoped (every-request) path.
      return claimed ? { ...caller, scopedTeams: [...claimed] } : caller;
    },
  }) as unknown as MiddlewareHandler<GatewayEnv>;
}

function isTeamList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => typeof v === "string" && v !== "")
  );
}
