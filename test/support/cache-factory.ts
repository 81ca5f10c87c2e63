/**
 * One way to build a cache on Redis (ioredis adapter) or Valkey (glide adapter) for every
 * scenario, in this process or in a worker, so the instances of a fleet differ only by where
 * they run.
 */
import { createLibsqlBus, createLibsqlStore } from "@authcache/adapter-libsql";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createValkeyBus, createValkeyStore } from "@authcache/adapter-valkey";
import { type AuthCache, createAuthCache, type InvalidationBus, type Store } from "@authcache/core";
import { Logger as GlideLogger } from "@valkey/valkey-glide";

export type { AuthCache };

export interface RedisCacheConfig {
  /** Which adapter: "redis" (ioredis, the default), "valkey" (valkey-glide) or "libsql"
   *  (`url` is then a `file:` URL that every instance opens). */
  readonly adapter?: "redis" | "valkey" | "libsql";
  /** Where store and bus connect (usually a chaos proxy in front of the server); ignored when
   *  `nodes` is given. */
  readonly url: string;
  /** Cluster seed nodes: store and bus open cluster clients (ioredis `Cluster`, glide
   *  `GlideClusterClient`) instead of connecting to `url`. */
  readonly nodes?: readonly { readonly host: string; readonly port: number }[];
  /** Redis/Valkey: wait for replicas on invalidation writes and log appends (the adapters'
   *  `durability` option). */
  readonly durability?: { readonly replicas: number; readonly timeoutMs: number };
  /** libSQL: the poll interval of the bus (default 50 ms). */
  readonly pollIntervalMs?: number;
  /** libSQL: the busy timeout of both connections (the adapter's default when absent). */
  readonly busyTimeoutMs?: number;
  /** Where the bus connects, when not `url` (to fault the log apart from L2). */
  readonly busUrl?: string;
  readonly prefix?: string;
  readonly stream?: string;
  readonly maxStaleMs?: number;
  readonly confirmIntervalMs?: number;
  /** The bus follower's reply deadline before it reopens its connection. */
  readonly replyTimeoutMs?: number;
  readonly timeoutMs?: number;
  readonly breaker?: { readonly failures: number; readonly resetMs: number };
  readonly maxEntries?: number;
}

/** Counts what the cache logged, by level (a fleet under chaos logs a lot; we count it). */
export interface LogCounts {
  debug: number;
  info: number;
  warn: number;
  error: number;
}

export interface RedisCacheHandle {
  readonly cache: AuthCache;
  readonly store: Store;
  readonly bus: InvalidationBus;
  readonly log: LogCounts;
  close(): Promise<void>;
}

/** `wrapBus` lets a test hand the cache a different view of the bus (a broken one, on purpose). */
export async function createRedisCache(
  config: RedisCacheConfig,
  wrapBus?: (bus: InvalidationBus) => InvalidationBus,
): Promise<RedisCacheHandle> {
  const busUrl = config.busUrl ?? config.url;
  const stream = config.stream ?? "authcache:log";
  const confirmIntervalMs = config.confirmIntervalMs ?? 200;
  let store: Store;
  let bus: InvalidationBus;
  const nodes = config.nodes?.map((n) => ({ host: n.host, port: n.port }));
  const durable =
    config.durability === undefined
      ? {}
      : {
          durability: {
            replicas: config.durability.replicas,
            timeoutMs: config.durability.timeoutMs,
          },
        };
  if (config.adapter === "libsql") {
    const busy = config.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: config.busyTimeoutMs };
    store = createLibsqlStore({ url: config.url, ...busy });
    bus = createLibsqlBus({
      url: busUrl,
      pollIntervalMs: config.pollIntervalMs ?? 50,
      ...busy,
    });
  } else if (config.adapter === "valkey") {
    // Glide's native logger prints every timeout a chaos run provokes (the cache counts them).
    GlideLogger.init("error");
    const address = (url: string) => {
      const u = new URL(url);
      return [{ host: u.hostname, port: Number(u.port) }];
    };
    if (nodes) {
      store = createValkeyStore({ addresses: nodes, cluster: true, ...durable });
      bus = createValkeyBus({
        addresses: nodes,
        cluster: true,
        stream,
        confirmIntervalMs,
        ...durable,
      });
    } else {
      store = createValkeyStore({ addresses: address(config.url), ...durable });
      bus = createValkeyBus({
        addresses: address(busUrl),
        stream,
        confirmIntervalMs,
        ...durable,
      });
    }
  } else {
    const where = nodes ? { nodes } : { url: config.url };
    store = createRedisStore({ ...where, ...durable });
    bus = createRedisBus({
      ...(nodes ? { nodes } : { url: busUrl }),
      ...durable,
      stream,
      confirmIntervalMs,
      replyTimeoutMs: config.replyTimeoutMs ?? 1000,
    });
  }
  const log: LogCounts = { debug: 0, info: 0, warn: 0, error: 0 };
  const cache = createAuthCache({
    store,
    bus: wrapBus ? wrapBus(bus) : bus,
    prefix: config.prefix ?? "authcache:",
    maxStaleMs: config.maxStaleMs ?? 1000,
    l1: { maxEntries: config.maxEntries ?? 10_000 },
    l2: {
      timeoutMs: config.timeoutMs ?? 150,
      breaker: config.breaker ?? { failures: 5, resetMs: 500 },
    },
    logger: {
      debug: () => void log.debug++,
      info: () => void log.info++,
      warn: () => void log.warn++,
      error: () => void log.error++,
    },
  });
  let closed = false;
  return {
    cache,
    store,
    bus,
    log,
    async close() {
      if (closed) return;
      closed = true;
      await cache.close();
      await bus.close();
      await store.close();
    },
  };
}
