import type { Context } from "hono";
import type { Caller, GatewayEnv } from "../auth.ts";
import type { GatewayCache } from "../cache.ts";
import type { DataAccess } from "../data-access.ts";
import type { JwtService } from "../jwt.ts";
import type { RevocationSync } from "../revocation-sync.ts";

/** What route handlers need; `createApp` builds it from `AppDeps`. */
export interface RouteDeps {
  readonly cache: GatewayCache;
  readonly data: DataAccess;
  readonly jwt: JwtService;
  readonly revocations: Pick<RevocationSync, "markApplied"> | undefined;
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
  return c.var.auth;
}

/** Records a revocation in the database, then awaits its invalidation on every instance. */
export async function revokeToken(
  deps: RouteDeps,
  jti: string,
  expiresAt: number | null,
  revokedBy: string,
  reason: string,
): Promise<boolean> {
  const revokedAt = deps.now();
  const inserted = await deps.data.insertRevocation({
    jti,
    revokedAt,
    revokedBy,
    reason,
    expiresAt,
  });
  // Even when the row already existed, invalidate: it is idempotent and cheap, and a caller
  // retrying after a failed invalidation must be able to finish the job.
  await deps.cache.invalidateRevocation(jti, expiresAt ?? undefined);
  if (inserted) deps.revocations?.markApplied(jti);
  return inserted;
}
