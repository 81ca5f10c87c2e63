/**
 * `createApp(deps)`: the gateway as a Hono app, with no globals and no side effects, so tests
 * drive it through `app.request()` and a server is only `main.ts`'s business.
 */
import { Hono } from "hono";
import { routePath } from "hono/route";
import { authenticate, type GatewayEnv } from "./auth.ts";
import type { GatewayCache } from "./cache.ts";
import type { DataAccess } from "./data-access.ts";
import type { JwtService } from "./jwt.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import type { RevocationSync } from "./revocation-sync.ts";
import { registerAdminRoutes } from "./routes/admin.ts";
import { registerAuthRoutes } from "./routes/auth-routes.ts";
import type { RouteDeps } from "./routes/deps.ts";
import { registerMcpRoute } from "./routes/mcp.ts";
import { registerTeamRoutes } from "./routes/teams.ts";
import { demoTools, type ToolDefinition } from "./tools.ts";
import { BadRequest } from "./validation.ts";

export interface AppLogger {
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

export interface AppDeps {
  readonly cache: GatewayCache;
  readonly data: DataAccess;
  readonly jwt: JwtService;
  readonly metrics?: Metrics;
  /** MCP tool catalogue (default: the demo tools). */
  readonly tools?: readonly ToolDefinition[];
  /** The revocation poller, so this process does not re-apply its own revocations. */
  readonly revocations?: Pick<RevocationSync, "markApplied" | "stats">;
  /** Round trips that reached the database client (for /metrics). */
  readonly clientRoundTrips?: () => number;
  /** Shown by /healthz, e.g. "redis L2 + redis bus". */
  readonly cacheDescription?: string;
  readonly logger?: AppLogger;
  readonly now?: () => number;
}

const silent: AppLogger = { info() {}, warn() {}, error() {} };

export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  const metrics = deps.metrics ?? createMetrics();
  const logger = deps.logger ?? silent;
  const routeDeps: RouteDeps = {
    cache: deps.cache,
    data: deps.data,
    jwt: deps.jwt,
    tools: deps.tools ?? demoTools,
    revocations: deps.revocations,
    now: deps.now ?? Date.now,
  };
  const app = new Hono<GatewayEnv>();

  app.use("*", async (c, next) => {
    await next();
    // The last matched route is the handler's pattern ("/teams/:id/role"); "*" means no route.
    const route = routePath(c, -1);
    metrics.recordRequest(c.req.method, route === "*" ? "unmatched" : route, c.res.status);
  });

  app.onError((error, c) => {
    if (error instanceof BadRequest) {
      return c.json({ error: error.message, ...(error.field ? { field: error.field } : {}) }, 400);
    }
    logger.error(`${c.req.method} ${c.req.path} failed`, error);
    return c.json({ error: "Internal error" }, 500);
  });
  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}` }, 404));

  app.get("/healthz", (c) => {
    const stats = deps.cache.stats();
    return c.json({
      status: "ok",
      cache: {
        backend: deps.cacheDescription ?? "unknown",
        l2Healthy: stats.l2Healthy,
        busState: stats.busState,
        l1Trusted: stats.l1Trusted,
      },
    });
  });

  app.get("/metrics", (c) => {
    const text = metrics.render({
      cacheStats: deps.cache.stats(),
      queryCounts: deps.data.queryCounts(),
      clientRoundTrips: deps.clientRoundTrips?.() ?? deps.data.totalQueries(),
      ...(deps.revocations ? { revocationSync: { ...deps.revocations.stats() } } : {}),
    });
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  const auth = authenticate({
    cache: deps.cache,
    data: deps.data,
    jwt: deps.jwt,
    metrics,
    onBackendError: (error) => logger.error("authentication backend failed", error),
  });
  for (const path of ["/auth/*", "/admin/*", "/teams/*", "/mcp"]) app.use(path, auth);

  registerAuthRoutes(app, routeDeps);
  registerAdminRoutes(app, routeDeps);
  registerTeamRoutes(app, routeDeps);
  registerMcpRoute(app, routeDeps);
  return app;
}
