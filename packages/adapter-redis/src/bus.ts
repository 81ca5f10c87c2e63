import { createHash } from "node:crypto";
import type { InvalidationBus } from "@authcache/core";
import {
  createLogBus,
  type LogRead,
  type LogReader,
  type LogTransport,
} from "@authcache/core/adapter";
import {
  appendAfterCall,
  appendArgs,
  blockMsProblem,
  checkDurability,
  type DurabilityOptions,
  defaultBlockMs,
  endArgs,
  type LogKeys,
  logKeys,
  logName,
  parseEnd,
  parseRead,
  STREAM_DEFAULTS,
  STREAM_SCRIPTS,
} from "@authcache/redis-protocol";
import type { Cluster, Redis } from "ioredis";
import {
  closeClient,
  fastRetry,
  isCluster,
  keyspaceOf,
  PACKAGE,
  type RedisClient,
  type RedisConnectionOptions,
  resolveConnection,
} from "./connection.ts";
import { waitDurable } from "./durability.ts";

export interface RedisBusOptions extends RedisConnectionOptions {
  /** The cache's key prefix (default `authcache:`): the log is named after it (`authcache:log`),
   *  so caches with different prefixes on one server follow different logs. */
  prefix?: string;
  /** The log's name instead of `<prefix>log` (no `{` or `}`: it is the keys' hash tag). Every
   *  instance of a fleet, on either Redis adapter, must use the same one. */
  stream?: string;
  /** Entries kept (approximately: `XADD MAXLEN ~`). Default 10 000. A follower that falls
   *  further behind than this is told to reset. */
  maxLength?: number;
  /** A healthy follower confirms it is caught up at least this often. Default 250 ms; keep it
   *  below the cache's `maxStaleMs`. */
  confirmIntervalMs?: number;
  /** How long one blocking read waits for new entries. Default `confirmIntervalMs / 3`; at
   *  most half of `confirmIntervalMs`. */
  blockMs?: number;
  /** How late a reply may be before the follower's connection is taken for dead and reopened.
   *  Default 1000 ms. */
  replyTimeoutMs?: number;
  /** Entries read per round trip. Default 500. */
  batchSize?: number;
  /** Name of each follower connection (`CLIENT LIST`). Default `authcache-bus`. */
  connectionName?: string;
  /** Wait for replicas to acknowledge each appended entry (`WAIT`/`WAITAOF`) and fail the
   *  publish when too few did (README, "Operations"). Default: none. */
  durability?: DurabilityOptions;
}

/** An `InvalidationBus` on a Redis (or Valkey) Stream, through ioredis. */
export interface RedisBus extends InvalidationBus {
  /** The client used to publish (yours if you passed one). Followers use their own connections. */
  readonly client: RedisClient;
  /** The log's keys (its Stream and its meta hash). */
  readonly log: LogKeys;
  readonly clustered: boolean;
}

const noop = (): void => {};

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${PACKAGE}: createRedisBus: ${name} must be a positive integer`);
  }
  return value;
}

/** A script sent by hash, and by source only when the server does not know it yet. */
function script(source: string) {
  const sha = createHash("sha1").update(source).digest("hex");
  return async (client: RedisClient, keys: LogKeys, args: string[]): Promise<unknown> => {
    try {
      return await client.evalsha(sha, 2, keys.entries, keys.meta, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes("NOSCRIPT")) throw error;
      return client.eval(source, 2, keys.entries, keys.meta, ...args);
    }
  };
}
const appendScript = script(STREAM_SCRIPTS.append);
const endScript = script(STREAM_SCRIPTS.end);

/** `STREAM_SCRIPTS.appendAfter`, sent by hash (the log's keys, then the writes' keys). */
const appendAfterSha = createHash("sha1").update(STREAM_SCRIPTS.appendAfter).digest("hex");
async function appendAfterScript(client: RedisClient, keys: string[], args: string[]) {
  try {
    return await client.evalsha(appendAfterSha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes("NOSCRIPT")) throw error;
    return client.eval(STREAM_SCRIPTS.appendAfter, keys.length, ...keys, ...args);
  }
}

/** The database `client` has selected (sent `SELECT` for), else the one in its options. */
function selectedDb(client: Redis): number {
  const selected = (client as unknown as { condition?: { select?: unknown } }).condition?.select;
  if (typeof selected === "number" && Number.isSafeInteger(selected)) return selected;
  const db = client.options.db;
  return typeof db === "number" ? db : 0;
}

/** The follower's own connection: a blocking read must not stall the publishing client. It
 *  never queues or resends commands across a reconnect (a resent read could be dated wrong). */
function openFollowerConnection(client: RedisClient, name: string): RedisClient {
  const redisOverrides = {
    autoResendUnfulfilledCommands: false,
    blockingTimeout: 0,
    connectionName: name,
    replyMapping: "legacy" as const,
  };
  const conn: RedisClient = isCluster(client)
    ? (client as Cluster).duplicate([], {
        enableOfflineQueue: false,
        clusterRetryStrategy: fastRetry,
        // duplicate() merges shallowly: keep the node options (credentials, TLS) given.
        redisOptions: { ...(client as Cluster).options.redisOptions, ...redisOverrides },
      })
    : (client as Redis).duplicate({
        ...redisOverrides,
        // The database the publishing client is in now: a client given to us may have been
        // switched with SELECT, which ioredis keeps in `condition.select`, not in its options
        // (duplicate() alone would follow the log of another database).
        db: selectedDb(client as Redis),
        enableOfflineQueue: false,
        retryStrategy: fastRetry,
        lazyConnect: false,
      });
  conn.on("error", noop);
  return conn;
}

/** One follower's reader on its own connection. A read fails at once when the connection
 *  closes (or, in a cluster, loses a node), so the follower reports "down" without waiting. */
function openReader(
  client: RedisClient,
  keys: LogKeys,
  blockMs: number,
  connectionName: string,
): LogReader {
  const conn = openFollowerConnection(client, connectionName);
  const aborts = new Set<(error: Error) => void>();
  const abortAll = (why: string) => () => {
    for (const abort of [...aborts]) abort(new Error(why));
  };
  conn.on("close", abortAll("connection closed"));
  // A cluster heals a lost node connection by itself (and may resend to it): fail the read.
  conn.on("-node", abortAll("cluster node connection lost"));
  const abortable = <T>(work: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const abort = (error: Error) => {
        aborts.delete(abort);
        reject(error);
      };
      aborts.add(abort);
      work().then(
        (value) => {
          aborts.delete(abort);
          resolve(value);
        },
        (error: unknown) => {
          aborts.delete(abort);
          reject(error);
        },
      );
    });
  const ready = async () => {
    if (conn.status === "ready") return;
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        aborts.delete(abort);
        resolve();
      };
      const abort = (error: Error) => {
        conn.off("ready", onReady);
        aborts.delete(abort);
        reject(error);
      };
      aborts.add(abort);
      conn.once("ready", onReady);
    });
  };
  return {
    end: () =>
      abortable(async () => {
        await ready();
        return parseEnd(await endScript(conn, keys, endArgs()));
      }),
    read: (after, limit) => {
      // HMGET then XREAD in one write (the head is read before the entries), each reply taken
      // by its own callback: the entries go on as soon as the XREAD reply is parsed, without the
      // pipeline's exec bookkeeping. One promise, also settled by an abort.
      const send = (): Promise<LogRead> =>
        new Promise<LogRead>((resolve, reject) => {
          const abort = (error: Error) => {
            aborts.delete(abort);
            reject(error);
          };
          aborts.add(abort);
          let meta: unknown;
          let metaError: unknown;
          const pipeline = conn.pipeline();
          pipeline.hmget(keys.meta, "epoch", "seq", (error, reply) => {
            if (error) metaError = error;
            else meta = reply;
          });
          const cursor = after.cursor ?? "0-0";
          pipeline.xread(
            "COUNT",
            limit,
            "BLOCK",
            blockMs,
            "STREAMS",
            keys.entries,
            cursor,
            (error: Error | null | undefined, entries: unknown) => {
              aborts.delete(abort);
              if (error) reject(error);
              else if (metaError !== undefined) reject(metaError);
              else if (meta === undefined) reject(new Error("no reply to HMGET before XREAD's"));
              else {
                try {
                  resolve(parseRead(meta, entries));
                } catch (e) {
                  reject(e);
                }
              }
            },
          );
          pipeline.exec().catch(abort);
        });
      if (conn.status === "ready") return send();
      return abortable(async () => {
        await ready();
        return send();
      });
    },
    close() {
      abortAll("reader closed")();
      conn.disconnect();
    },
  };
}

/**
 * Creates an InvalidationBus on a Redis or Valkey Stream, in the layout of
 * `@authcache/redis-protocol` (shared with `@authcache/adapter-valkey`: instances on either
 * adapter follow one log). `publish` runs the append script (epoch, next sequence number and
 * `XADD MAXLEN ~ maxLength`, atomically); each `subscribe` follows with blocking reads on its own
 * connection, through core's follower (`createLogBus`), which confirms, counts, and resets on a
 * new epoch or any gap.
 */
export function createRedisBus(options: RedisBusOptions): RedisBus {
  const confirmIntervalMs = positiveInt(
    "confirmIntervalMs",
    options.confirmIntervalMs,
    STREAM_DEFAULTS.confirmIntervalMs,
  );
  const blockMs = options.blockMs ?? defaultBlockMs(confirmIntervalMs);
  const problem = blockMsProblem(blockMs, confirmIntervalMs);
  if (problem) throw new RangeError(`${PACKAGE}: createRedisBus: blockMs ${problem}`);
  const maxLength = positiveInt("maxLength", options.maxLength, STREAM_DEFAULTS.maxLength);
  const keys = logKeys(logName(options, `${PACKAGE}: createRedisBus`));
  const connectionName = options.connectionName ?? "authcache-bus";
  const durability = checkDurability(options.durability, `${PACKAGE}: createRedisBus`);
  const { client, owned, clustered } = resolveConnection(options, "createRedisBus");

  // The ordered publish: standalone only (a cluster has the log and the store's keys in
  // different slots). Its writes travel with the append, on the publishing connection.
  const keyspace = clustered ? undefined : keyspaceOf(client, !owned);
  const transport: LogTransport = {
    name: "redis",
    blockMs,
    async append(data) {
      await appendScript(client, keys, appendArgs(data, maxLength));
      await waitDurable(client, clustered, [keys.meta], durability);
    },
    ...(keyspace === undefined
      ? {}
      : {
          keyspace,
          async appendAfter(writes, data) {
            const call = appendAfterCall(keys, writes, data, maxLength);
            await appendAfterScript(client, call.keys, call.args);
            // WAIT on this connection covers the writes as well as the entry.
            await waitDurable(client, clustered, [keys.meta], durability);
          },
        }),
    openReader: () => openReader(client, keys, blockMs, connectionName),
    async close() {
      if (owned) await closeClient(client);
    },
  };
  const inner = createLogBus(transport, {
    errorPrefix: PACKAGE,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.replyTimeoutMs === undefined ? {} : { replyTimeoutMs: options.replyTimeoutMs }),
  });
  return {
    name: "redis",
    client,
    log: keys,
    clustered,
    get dropped() {
      return inner.dropped;
    },
    publish: (message) => inner.publish(message),
    ...(inner.publishAfter === undefined
      ? {}
      : {
          keyspace: inner.keyspace,
          publishAfter: inner.publishAfter,
        }),
    subscribe: (handlers) => inner.subscribe(handlers),
    onState: (listener) => inner.onState(listener),
    close: () => inner.close(),
  };
}
