/**
 * The one module that knows how the gateway gets its AuthCache: which L2 store and bus the
 * configuration picks, and the options handed to `createAuthCache`. Everything else in the app
 * sees only `GatewayCache`, the part of the public API it uses.
 *
 * Adapters are imported lazily so a gateway on the embedded default never loads a Redis or
 * Valkey client.
 */
import {
  type AuthCache,
  type AuthContext as CoreAuthContext,
  createAuthCache,
  type InvalidationBus,
  type Store,
} from "@authcache/core";
import type { GatewayConfig } from "./config.ts";
import type { UserRecord } from "./data-access.ts";
import { ensureFileDirectory } from "./db/client.ts";

/** What the cache holds for one (email, jti): the auth context of the reference design. */
export type AuthContext = CoreAuthContext<UserRecord>;

/** The AuthCache as the gateway uses it, typed with the gateway's user record. */
export type GatewayCache = AuthCache<UserRecord>;

export interface CacheLogger {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

export interface CacheOverrides {
  /** Use this L2 instead of the configured one (tests wrap a store to count its calls). */
  readonly store?: Store;
  readonly bus?: InvalidationBus;
  readonly logger?: CacheLogger;
  /** Clock for the cache (tests). */
  readonly now?: () => number;
}

export interface BuiltCache {
  readonly cache: GatewayCache;
  /** "memory (L1 only)", "redis", ... for logs and /healthz. */
  readonly description: string;
  /** Closes the cache, then the store and bus this module opened (never injected ones). */
  close(): Promise<void>;
}

type CacheConfig = GatewayConfig["cache"];

interface Backend {
  readonly store?: Store;
  readonly bus?: InvalidationBus;
  close(): Promise<void>;
}

/** glide takes addresses, not URLs: `redis://[user:password@]host[:port]` (or valkey://,
 *  rediss://, valkeys:// for TLS). */
export function valkeyConnection(url: string) {
  const u = new URL(url);
  const tls = u.protocol === "rediss:" || u.protocol === "valkeys:";
  const password = decodeURIComponent(u.password);
  const username = decodeURIComponent(u.username);
  return {
    addresses: [{ host: u.hostname, port: u.port ? Number(u.port) : 6379 }],
    clientConfig: {
      ...(tls ? { useTLS: true } : {}),
      ...(password ? { credentials: { password, ...(username ? { username } : {}) } } : {}),
    },
  };
}

async function openBackend(config: CacheConfig): Promise<Backend> {
  const none: Backend = { close: async () => {} };
  switch (config.backend) {
    case "memory":
      // One process: L1 is its own authority; an in-process L2 would only add copies.
      return none;
    case "redis": {
      const m = await import("@authcache/adapter-redis");
      const store = m.createRedisStore({ url: config.url });
      const bus = m.createRedisBus({
        url: config.url,
        stream: `${config.prefix}log`,
        confirmIntervalMs: config.busConfirmIntervalMs,
      });
      return { store, bus, close: () => closeAll(bus, store) };
    }
    case "valkey": {
      const m = await import("@authcache/adapter-valkey");
      const connection = valkeyConnection(config.url ?? "");
      const store = m.createValkeyStore(connection);
      const bus = m.createValkeyBus({
        ...connection,
        stream: `${config.prefix}log`,
        confirmIntervalMs: config.busConfirmIntervalMs,
      });
      return { store, bus, close: () => closeAll(bus, store) };
    }
    case "libsql": {
      const m = await import("@authcache/adapter-libsql");
      const url = config.url ?? "";
      ensureFileDirectory(url);
      const connection = { url, ...(config.authToken ? { authToken: config.authToken } : {}) };
      const store = m.createLibsqlStore(connection);
      // Every poll that reaches the end of the log confirms "caught up": poll well inside
      // the confirm interval.
      const bus = m.createLibsqlBus({
        ...connection,
        pollIntervalMs: Math.max(10, Math.min(100, Math.floor(config.busConfirmIntervalMs / 2))),
      });
      return { store, bus, close: () => closeAll(bus, store) };
    }
  }
}

async function closeAll(...closables: { close(): Promise<void> }[]): Promise<void> {
  for (const c of closables) await c.close();
}

/** Builds the AuthCache the configuration describes. */
export async function buildCache(
  config: CacheConfig,
  overrides: CacheOverrides = {},
): Promise<BuiltCache> {
  const injected = overrides.store !== undefined || overrides.bus !== undefined;
  const backend = injected ? { close: async () => {} } : await openBackend(config);
  const store = overrides.store ?? backend.store;
  const bus = overrides.bus ?? backend.bus;
  const cache = createAuthCache<UserRecord>({
    ...(store ? { store } : {}),
    ...(bus ? { bus } : {}),
    prefix: config.prefix,
    ttl: config.ttlMs,
    maxStaleMs: config.maxStaleMs,
    l1: { maxEntries: config.l1MaxEntries },
    enabled: config.enabled,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
  });
  const description = !config.enabled
    ? "disabled (AUTH_CACHE_ENABLED=false: every request reads the database)"
    : store
      ? `${store.name} L2${bus ? ` + ${bus.name} bus` : ""}`
      : "L1 only (no L2, no bus)";
  return {
    cache,
    description,
    async close() {
      await cache.close();
      await backend.close();
    },
  };
}
