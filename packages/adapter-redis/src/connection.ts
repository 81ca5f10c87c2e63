import { redisKeyspace } from "@authcache/redis-protocol";
import type { ClusterNode, ClusterOptions, RedisOptions } from "ioredis";
import { Cluster, Redis } from "ioredis";

/** Either client ioredis offers; both speak the same command API. */
export type RedisClient = Redis | Cluster;

/** How an adapter reaches Redis: an existing client, or what it needs to open one.
 *  Give exactly one of `client`, `url`, `host`/`port` or `nodes`. */
export interface RedisConnectionOptions {
  /** A client you own: the adapter uses it and never closes it. */
  client?: RedisClient;
  /** `redis://[user:pass@]host:port[/db]` (or `rediss://`) for a standalone server. */
  url?: string;
  /** Standalone server host (default 127.0.0.1 when only `port` is given). */
  host?: string;
  /** Standalone server port (default 6379 when only `host` is given). */
  port?: number;
  /** Cluster seed nodes: the adapter opens an ioredis `Cluster`. */
  nodes?: ClusterNode[];
  /** Extra ioredis options for a standalone client the adapter opens (or for each cluster node). */
  redisOptions?: RedisOptions;
  /** Extra ioredis options for a cluster client the adapter opens. */
  clusterOptions?: ClusterOptions;
}

export interface ResolvedConnection {
  readonly client: RedisClient;
  /** True when the adapter opened the client, and so must close it. */
  readonly owned: boolean;
  readonly clustered: boolean;
}

export const PACKAGE = "@authcache/adapter-redis";

/** Reconnects quickly (an auth cache must recover within its staleness bound), capped at 1 s. */
export const fastRetry = (times: number): number => Math.min(50 * 2 ** Math.min(times, 5), 1000);

/** True for an ioredis `Cluster`, also when it comes from another copy of ioredis. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

const ignore = (): void => {};

export function resolveConnection(
  options: RedisConnectionOptions,
  factory: string,
): ResolvedConnection {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${PACKAGE}: ${factory} needs options ({ client } or { url } or ...)`);
  }
  const given = [
    options.client !== undefined,
    options.url !== undefined,
    options.host !== undefined || options.port !== undefined,
    options.nodes !== undefined,
  ].filter(Boolean).length;
  if (given !== 1) {
    throw new TypeError(
      `${PACKAGE}: ${factory} needs exactly one of { client }, { url }, { host, port } or { nodes } (got ${given})`,
    );
  }
  if (options.client !== undefined) {
    const c = options.client as { status?: unknown; duplicate?: unknown };
    if (typeof c !== "object" || c === null || typeof c.duplicate !== "function") {
      throw new TypeError(`${PACKAGE}: ${factory}: client must be an ioredis Redis or Cluster`);
    }
    return { client: options.client, owned: false, clustered: isCluster(options.client) };
  }
  let client: RedisClient;
  if (options.nodes !== undefined) {
    if (!Array.isArray(options.nodes) || options.nodes.length === 0) {
      throw new TypeError(`${PACKAGE}: ${factory}: nodes must be a non-empty array`);
    }
    client = new Cluster(options.nodes, {
      clusterRetryStrategy: fastRetry,
      ...options.clusterOptions,
      redisOptions: {
        maxRetriesPerRequest: 1,
        ...options.redisOptions,
        ...options.clusterOptions?.redisOptions,
      },
    });
  } else {
    const defaults: RedisOptions = { maxRetriesPerRequest: 1, retryStrategy: fastRetry };
    if (options.url !== undefined) {
      client = new Redis(options.url, { ...defaults, ...options.redisOptions });
    } else {
      client = new Redis({
        ...defaults,
        host: options.host ?? "127.0.0.1",
        port: options.port ?? 6379,
        ...options.redisOptions,
      });
    }
  }
  // Connection errors surface through commands (and so through core's failure policy);
  // without a listener ioredis would print each reconnect attempt.
  client.on("error", ignore);
  return { client, owned: true, clustered: isCluster(client) };
}

/** Closes a client the adapter opened: politely if it can, abruptly if it must. Resolves once
 *  its sockets are gone, so nothing the adapter opened outlives close(). */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === "end") return;
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), 1000);
  });
  try {
    await Promise.race([client.quit().then(() => ended), late]);
  } catch {
    // quit failed (the connection was already broken): fall through to disconnect.
  }
  // (status is read again: quit() changes it behind TypeScript's narrowing)
  if ((client.status as string) !== "end") {
    client.disconnect();
    await Promise.race([ended, late]);
  }
  clearTimeout(timer);
}

/** Keyspace tokens of clients passed in, one per client object. */
const givenClients = new WeakMap<object, string>();

/**
 * The keyspace (core's `Store.keyspace`, `InvalidationBus.keyspace`): equal strings promise that
 * a write made through one adapter's client lands on the keys the other's client reads.
 * - A client the adapter opened by host and port: `redisKeyspace(host, port, db)`, the string
 *   adapter-valkey declares for the same server and database. Undefined with ioredis
 *   `keyPrefix` (that client's keys are not the ones core named), for a cluster (keys in
 *   several slots), Sentinel (the master may change under one of the clients) or a socket path.
 * - A client passed in (`{ client }`): a token of that client object, so only a store and a bus
 *   given the very same client match (same connection settings, same `SELECT`ed database, same
 *   `keyPrefix`, whatever they are); its database cannot be read reliably (`SELECT` may be sent
 *   at any time), so it never matches anything else.
 */
export function keyspaceOf(client: RedisClient, given = false): string | undefined {
  if (isCluster(client)) return undefined;
  if (given) {
    let token = givenClients.get(client);
    if (token === undefined) {
      token = `ioredis-client:${globalThis.crypto.randomUUID()}`;
      givenClients.set(client, token);
    }
    return token;
  }
  const o = (client as Redis).options as
    | {
        host?: unknown;
        port?: unknown;
        db?: unknown;
        path?: unknown;
        sentinels?: unknown;
        keyPrefix?: unknown;
        tls?: { servername?: unknown };
      }
    | undefined;
  if (o === undefined || o.path || (Array.isArray(o.sentinels) && o.sentinels.length > 0)) {
    return undefined;
  }
  if (o.keyPrefix !== undefined && o.keyPrefix !== "") return undefined;
  const { host, port } = o;
  const db = o.db ?? 0;
  if (typeof host !== "string" || typeof port !== "number" || typeof db !== "number") {
    return undefined;
  }
  const servername = o.tls?.servername;
  return redisKeyspace(host, port, db, servername === undefined ? {} : { servername });
}
