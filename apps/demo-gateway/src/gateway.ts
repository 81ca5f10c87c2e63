/**
 * Assembles a whole gateway from a configuration: database (migrated, seeded), cache, JWT,
 * revocation sync, app. `createGateway` does not listen; `startGateway` also serves HTTP.
 * These are what `main.ts`, the two-process tests and the benchmarks use.
 */
import type { InvalidationBus, Store } from "@authcache/core";
import type { Hono } from "hono";
import { type AppLogger, createGatewayApp } from "./app.ts";
import type { GatewayEnv } from "./auth.ts";
import { type BuiltCache, buildCache, type CacheLogger, type GatewayCache } from "./cache.ts";
import { type GatewayConfig, loadConfig } from "./config.ts";
import { createDataAccess, type DataAccess } from "./data-access.ts";
import { type Database, openDatabase } from "./db/client.ts";
import { createJwtService, type JwtService, type MintedToken, type MintOptions } from "./jwt.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { createRevocationSync, type RevocationSync } from "./revocation-sync.ts";
import { listen } from "./serve.ts";
import type { Writes } from "./writes.ts";

export interface GatewayOptions {
  /** A full configuration; when absent it is read from `env` (default `process.env`). */
  readonly config?: GatewayConfig;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** L2 and bus to use instead of the configured ones (closed by their owner, not by us). */
  readonly store?: Store;
  readonly bus?: InvalidationBus;
  readonly logger?: AppLogger & CacheLogger;
  /** Revocation poll interval override (0 = no timer). */
  readonly revocationPollMs?: number;
  readonly now?: () => number;
}

export interface MintTokenOptions extends MintOptions {
  /** Also record the token in api_tokens (default false: auth never needs the row). */
  readonly record?: boolean;
  readonly name?: string;
}

export interface Gateway {
  readonly app: Hono<GatewayEnv>;
  readonly config: GatewayConfig;
  readonly cache: GatewayCache;
  readonly cacheDescription: string;
  readonly data: DataAccess;
  readonly database: Database;
  readonly jwt: JwtService;
  readonly metrics: Metrics;
  readonly revocations: RevocationSync;
  /** Every database write with the invalidation it needs (what the routes call). */
  readonly writes: Writes;
  /** Mints a bearer token for `email` signed with this gateway's key. */
  mintToken(email: string, options?: MintTokenOptions): Promise<MintedToken>;
  close(): Promise<void>;
}

export interface RunningGateway extends Gateway {
  readonly url: string;
  readonly port: number;
}

export const quietLogger: AppLogger & CacheLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export async function createGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const config = options.config ?? loadConfig(options.env ?? process.env);
  const logger = options.logger ?? quietLogger;
  const now = options.now ?? Date.now;

  const database = await openDatabase({
    url: config.databaseUrl,
    ...(config.databaseAuthToken ? { authToken: config.databaseAuthToken } : {}),
  });
  let built: BuiltCache | undefined;
  try {
    built = await buildCache(config.cache, {
      ...(options.store ? { store: options.store } : {}),
      ...(options.bus ? { bus: options.bus } : {}),
      logger,
      ...(options.now ? { now: options.now } : {}),
    });
  } catch (error) {
    database.close();
    throw error;
  }
  const cache = built.cache;
  const data = createDataAccess(database);
  const jwt = createJwtService({ ...config.jwt, now });
  const metrics = createMetrics();
  const revocations = createRevocationSync({
    cache,
    data,
    intervalMs: options.revocationPollMs ?? config.revocationPollMs,
    onError: (error) => logger.warn("revocation poll failed", error),
  });
  await revocations.start();

  const { app, mcpSessions, writes } = createGatewayApp({
    cache,
    data,
    jwt,
    metrics,
    revocations,
    clientRoundTrips: () => database.counter.total,
    cacheDescription: built.description,
    logger,
    now,
    allowedOrigins: config.allowedOrigins,
    authorizationServers: config.authorizationServers,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(config.mcp.conformanceFixtures
      ? { conformanceFixturesTeams: config.mcp.fixturesTeams }
      : {}),
  });

  let closed = false;
  return {
    app,
    config,
    cache,
    cacheDescription: built.description,
    data,
    database,
    jwt,
    metrics,
    revocations,
    writes,
    async mintToken(email, mintOptions = {}) {
      const minted = await jwt.mint(email, mintOptions);
      if (mintOptions.record) {
        await writes.recordToken({
          jti: minted.jti,
          userEmail: email,
          name: mintOptions.name ?? "minted",
          teams: mintOptions.teams ?? null,
          createdAt: now(),
          expiresAt: minted.expiresAt,
        });
      }
      return minted;
    },
    async close() {
      if (closed) return;
      closed = true;
      revocations.stop();
      await mcpSessions.closeAll();
      await built.close();
      database.close();
    },
  };
}

/** Creates a gateway and serves it; `port: 0` picks a free port (read it from the result). */
export async function startGateway(
  options: GatewayOptions & { port?: number; hostname?: string } = {},
): Promise<RunningGateway> {
  const gateway = await createGateway(options);
  const port = options.port ?? gateway.config.port;
  const hostname = options.hostname ?? gateway.config.host;
  let server: Awaited<ReturnType<typeof listen>>;
  try {
    server = await listen(gateway.app.fetch, port, hostname);
  } catch (error) {
    await gateway.close();
    throw error;
  }
  const shownHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    ...gateway,
    url: `http://${shownHost}:${server.port}`,
    port: server.port,
    async close() {
      await server.close();
      await gateway.close();
    },
  };
}
