import type { Context } from "hono";
import type { Caller, GatewayEnv } from "../auth.ts";
import type { GatewayCache } from "../cache.ts";
import type { DataAccess } from "../data-access.ts";
import type { JwtService } from "../jwt.ts";
import type { Writes } from "../writes.ts";

/**
 * What route handlers need; `createApp` builds it from `AppDeps`. Routes read through `cache`
 * and `data` and write only through `writes`, where each write sits next to its invalidation:
 * these types hold no write and no `invalidate*`.
 */
export interface RouteDeps {
  readonly cache: Pick<GatewayCache, "resolveUserRole">;
  readonly data: Pick<
    DataAccess,
    "getUser" | "getTeam" | "getApiToken" | "loadMembershipValid" | "loadUserRole"
  >;
  readonly writes: Writes;
  readonly jwt: JwtService;
  readonly now: () => number;
}

export type GatewayContext = Context<GatewayEnv>;

export function forbidden(c: GatewayContext, message: string) {
  return c.json({ error: message }, 403);
}

export function notFound(c: GatewayContext, message: string) {
  return c.json({ error: message }, 404);
}

export function caller(c: GatewayContext): Caller {
  // c.get, not c.var: Hono builds c.var with Object.fromEntries on every access.
  return c.get("auth");
}
