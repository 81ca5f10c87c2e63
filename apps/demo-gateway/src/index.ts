export {
  type AppDeps,
  type AppLogger,
  createApp,
  createGatewayApp,
  type GatewayApp,
} from "./app.ts";
export type { Caller, GatewayEnv } from "./auth.ts";
export {
  type AuthContext,
  type BuiltCache,
  buildCache,
  type CacheOverrides,
  type GatewayCache,
} from "./cache.ts";
export {
  type CacheBackend,
  ConfigError,
  DEV_JWT_SECRET,
  type GatewayConfig,
  loadConfig,
} from "./config.ts";
export {
  createDataAccess,
  type DataAccess,
  type QueryKind,
  type UserRecord,
} from "./data-access.ts";
export { type Database, openDatabase } from "./db/client.ts";
export { personalTeamId, seedTeams, seedUsers } from "./db/seed.ts";
export {
  createGateway,
  type Gateway,
  type GatewayOptions,
  type MintTokenOptions,
  quietLogger,
  type RunningGateway,
  startGateway,
} from "./gateway.ts";
export {
  createJwtService,
  type JwtOptions,
  type JwtService,
  type JwtVerification,
  type MintedToken,
} from "./jwt.ts";
export {
  type CallContext,
  type McpCatalogue,
  mergeCatalogues,
  type PromptDefinition,
  type ResourceDefinition,
  type ResourceTemplateDefinition,
  type ToolDefinition,
  usableBy,
  visible,
} from "./mcp/catalogue.ts";
export { createConformanceFixtures } from "./mcp/conformance-fixtures.ts";
export { createDemoCatalogue } from "./mcp/demo-catalogue.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
export { originAllowed } from "./origin.ts";
export { createRevocationSync, type RevocationSync } from "./revocation-sync.ts";
export { ROUTE_SCOPES, type RouteScope, scopeRefusal } from "./scope.ts";
export {
  createWrites,
  type RevokeToken,
  WRITE_NAMES,
  type Writes,
  type WritesDeps,
} from "./writes.ts";
