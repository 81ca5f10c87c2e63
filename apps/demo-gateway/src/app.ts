/**
 * `createApp(deps)`: the gateway as a Hono app, with no globals and no side effects, so tests
 * drive it through `app.request()` and a server is only `main.ts`'s business.
 */
import {
  protectedResourceMetadata,
  protectedResourceMetadataPath,
  protectedResourceMetadataUrl,
} from "@authcache/hono";
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { authenticate, type GatewayEnv } from "./auth.ts";
import type { GatewayCache } from "./cache.ts";
import type { DataAccess } from "./data-access.ts";
import type { JwtService } from "./jwt.ts";
import { type McpCatalogue, mergeCatalogues } from "./mcp/catalogue.ts";
import { createConformanceFixtures } from "./mcp/conformance-fixtures.ts";
import { createDemoCatalogue } from "./mcp/demo-catalogue.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { type OriginAllowList, validateOrigin } from "./origin.ts";
import type { RevocationSync } from "./revocation-sync.ts";
import { registerAdminRoutes } from "./routes/admin.ts";
import { registerAuthRoutes } from "./routes/auth-routes.ts";
import type { RouteDeps } from "./routes/deps.ts";
import { type McpSessions, registerMcpRoute } from "./routes/mcp.ts";
import { registerTeamRoutes } from "./routes/teams.ts";
import { enforceScope, ROUTE_SCOPES, scopeCanRefuse } from "./scope.ts";
import { BadRequest } from "./validation.ts";
import { createWrites, type Writes } from "./writes.ts";

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
  /** What `/mcp` serves (default: the demo catalogue). */
  readonly catalogue?: McpCatalogue;
  /** Also serve the MCP conformance suite's fixtures, owned by these teams. */
  readonly conformanceFixturesTeams?: readonly string[];
  /** Origins allowed to call (default: loopback origins on any port). */
  readonly allowedOrigins?: OriginAllowList;
  /** Base URL clients use (RFC 9728 `resource`); default: the origin of each request. */
  readonly publicUrl?: string;
  /** `authorization_servers` of the RFC 9728 metadata. */
  readonly authorizationServers?: readonly string[];
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

/** The Hono app and what it holds open (MCP sessions). */
export interface GatewayApp {
  readonly app: Hono<GatewayEnv>;
  readonly mcpSessions: McpSessions;
  /** Every database write with its invalidation (the routes' only way to write). */
  readonly writes: Writes;
}

export function createApp(deps: AppDeps): Hono<GatewayEnv> {
  return createGatewayApp(deps).app;
}

export function createGatewayApp(deps: AppDeps): GatewayApp {
  const metrics = deps.metrics ?? createMetrics();
  const logger = deps.logger ?? silent;
  const now = deps.now ?? Date.now;
  const writes = createWrites({
    data: deps.data,
    cache: deps.cache,
    revocations: deps.revocations,
    now,
  });
  const routeDeps: RouteDeps = { cache: deps.cache, data: deps.data, writes, jwt: deps.jwt, now };
  const catalogue = mergeCatalogues(
    deps.catalogue ?? createDemoCatalogue(),
    ...(deps.conformanceFixturesTeams
      ? [createConformanceFixtures(deps.conformanceFixturesTeams)]
      : []),
  );
  const baseUrl = (c: Context) => deps.publicUrl ?? new URL(c.req.url).origin;
  // /mcp is its own protected resource (RFC 9728 §3.1: the path follows the well-known prefix);
  // every other route belongs to the gateway's root resource.
  const resourceOf = (c: Context) =>
    c.req.path === "/mcp" || c.req.path.endsWith("/oauth-protected-resource/mcp")
      ? `${baseUrl(c)}/mcp`
      : `${baseUrl(c)}/`;
  const resourceMetadata = (c: Context) => protectedResourceMetadataUrl(resourceOf(c));
  const app = new Hono<GatewayEnv>();

  app.use("*", async (c, next) => {
    await next();
    // The last matched route is the handler's pattern ("/teams/:id/role"); "*" means no route.
    const route = routePath(c, -1);
    metrics.recordRequest(c.req.method, route === "*" ? "unmatched" : route, c.res.status);
  });

  app.use("*", validateOrigin(deps.allowedOrigins));

  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      // Thrown by Hono's validators ("Malformed JSON in request body") and the like.
      return c.json({ error: error.message || "Bad request" }, error.status);
    }
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

  app.get("/metrics", async (c) => {
    const text = await metrics.render({
      cacheStats: deps.cache.stats(),
      queryCounts: deps.data.queryCounts(),
      clientRoundTrips: deps.clientRoundTrips?.() ?? deps.data.totalQueries(),
      ...(deps.revocations ? { revocationSync: { ...deps.revocations.stats() } } : {}),
    });
    return c.text(text, 200, { "content-type": metrics.contentType });
  });

  for (const path of ["/", "/mcp"]) {
    app.get(
      protectedResourceMetadataPath(`http://gateway${path}`),
      protectedResourceMetadata((c) => ({
        resource: resourceOf(c),
        ...(deps.authorizationServers?.length
          ? { authorization_servers: [...deps.authorizationServers] }
          : {}),
        resource_name: "authcache demo gateway",
        resource_signing_alg_values_supported: [...deps.jwt.verification.algorithms],
      })),
    );
  }

  const auth = authenticate({
    cache: deps.cache,
    data: deps.data,
    jwt: deps.jwt,
    metrics,
    resourceMetadata,
    onBackendError: (error) => logger.error("authentication backend failed", error),
  });
  // Authentication, then the one token-scope rule, on every route that needs a token (the
  // rule's middleware only where it can refuse: one async layer less on /auth/* and /mcp).
  for (const { path, scope } of ROUTE_SCOPES) {
    if (scopeCanRefuse(scope)) app.use(path, auth, enforceScope(scope, resourceMetadata));
    else app.use(path, auth);
  }

  registerAuthRoutes(app, routeDeps);
  registerAdminRoutes(app, routeDeps);
  registerTeamRoutes(app, routeDeps);
  const mcpSessions = registerMcpRoute(app, { catalogue, resourceMetadata, now });
  return { app, mcpSessions, writes };
}
