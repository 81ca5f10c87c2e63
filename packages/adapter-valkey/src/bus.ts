import type { InvalidationBus } from "@authcache/core";
import { createLogBus, type LogReader, type LogTransport } from "@authcache/core/adapter";
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
import { Batch, ClusterBatch, type GlideClient, Script } from "@valkey/valkey-glide";
import {
  ClientHandle,
  isCluster,
  keyspaceOf,
  PKG,
  type ValkeyClient,
  type ValkeyConnectionOptions,
} from "./connection.ts";
import { waitDurable } from "./durability.ts";
import { InFlightLimiter } from "./limiter.ts";

/** Where a log line goes; the same shape as core's logger, all optional. */
export interface BusLogger {
  warn?(message: string, ...details: unknown[]): void;
}

/** Options of `createValkeyBus`. `client`/`addresses` give the publishing connection. */
export interface ValkeyBusOptions extends ValkeyConnectionOptions {
  /** A client reserved for following (its blocking reads would stall anything else sent on
   *  it). Used by one subscription at a time and never closed. Without it, each `subscribe()`
   *  opens its own client from `addresses` and closes it when it stops. */
  readonly followerClient?: ValkeyClient;
  /** The cache's key prefix (default `authcache:`): the log is named after it (`authcache:log`),
   *  so caches with different prefixes on one server follow different logs. */
  readonly prefix?: string;
  /** The log's name instead of `<prefix>log` (no `{` or `}`: it is the keys' hash tag). Every
   *  instance of a fleet, on either Redis adapter, must use the same one. */
  readonly stream?: string;
  /** Approximate cap of the Stream (`XADD MAXLEN ~`), default 10 000. A follower that falls
   *  further behind than this is reset. */
  readonly maxLength?: number;
  /** A healthy follower confirms at least this often (default 250 ms; keep it below the
   *  cache's maxStaleMs). */
  readonly confirmIntervalMs?: number;
  /** How long one blocking read waits (default `confirmIntervalMs / 3`; at most half of it). */
  readonly blockMs?: number;
  /** How late a reply may be, beyond `blockMs`, before the follower's client is taken for dead
   *  and reopened (default 1000 ms). */
  readonly replyTimeoutMs?: number;
  /** Entries per read (default 500). */
  readonly batchSize?: number;
  /** Wait for replicas to acknowledge each appended entry (`WAIT`/`WAITAOF`) and fail the
   *  publish when too few did (README, "Operations"). Default: none. */
  readonly durability?: DurabilityOptions;
  /** CLIENT SETNAME of the follower connections the bus opens (default "authcache-bus"),
   *  suffixed with a unique id; `followerNames` lists them. */
  readonly followerName?: string;
  /** `InvalidationBus.name`; default "valkey". */
  readonly name?: string;
  /** Told about failed reads and handlers that threw. */
  readonly logger?: BusLogger;
}

/** The log transport of the Valkey bus (what `createValkeyBus` hands to core's follower). */
export interface ValkeyTransport extends LogTransport {
  /** The log's keys (its Stream and its meta hash). */
  readonly log: LogKeys;
  /** CLIENT SETNAME of each follower connection currently open (find them in CLIENT LIST). */
  readonly followerNames: readonly string[];
  /** The publishing client (opened on first need when the bus was given addresses). */
  getClient(): Promise<ValkeyClient>;
}

/** An InvalidationBus on a Valkey/Redis Stream. */
export interface ValkeyBus extends InvalidationBus {
  /** The log's keys (its Stream and its meta hash). */
  readonly log: LogKeys;
  /** CLIENT SETNAME of each follower connection currently open (find them in CLIENT LIST). */
  readonly followerNames: readonly string[];
  /** The publishing client (opened on first need when the bus was given addresses). */
  getClient(): Promise<ValkeyClient>;
}

let scripts: { append: Script; appendAfter: Script; end: Script } | undefined;
/** glide's Script objects, made once (glide loads a script by hash, by source on NOSCRIPT). */
const glideScripts = () => {
  scripts ??= {
    append: new Script(STREAM_SCRIPTS.append),
    appendAfter: new Script(STREAM_SCRIPTS.appendAfter),
    end: new Script(STREAM_SCRIPTS.end),
  };
  return scripts;
};

/**
 * The Valkey log transport, in the layout of `@authcache/redis-protocol` (shared with
 * `@authcache/adapter-redis`: instances on either adapter follow one log). `append` runs the
 * append script (epoch, next sequence number and `XADD MAXLEN ~`, atomically); each reader is a
 * glide client of its own whose read is one pipeline: `HMGET meta epoch seq`, then `XREAD BLOCK`.
 */
export function createValkeyTransport(options: ValkeyBusOptions): ValkeyTransport {
  const confirmIntervalMs = options.confirmIntervalMs ?? STREAM_DEFAULTS.confirmIntervalMs;
  if (!(Number.isSafeInteger(confirmIntervalMs) && confirmIntervalMs > 0))
    throw new RangeError(
      `${PKG}: confirmIntervalMs must be a positive integer, got ${confirmIntervalMs}`,
    );
  const blockMs = options.blockMs ?? defaultBlockMs(confirmIntervalMs);
  const problem = blockMsProblem(blockMs, confirmIntervalMs);
  if (problem) throw new RangeError(`${PKG}: blockMs (${blockMs}) ${problem}`);
  const maxLength = options.maxLength ?? STREAM_DEFAULTS.maxLength;
  const durability = checkDurability(options.durability, `${PKG}: createValkeyBus`);
  if (!(Number.isInteger(maxLength) && maxLength > 0))
    throw new RangeError(`${PKG}: maxLength must be a positive integer, got ${maxLength}`);
  const replyTimeoutMs = options.replyTimeoutMs ?? 1000;
  const keys = logKeys(logName(options, PKG));
  const followerName = options.followerName ?? "authcache-bus";
  const publisher = new ClientHandle(options, "createValkeyBus");
  const publishLimiter = new InFlightLimiter(100);
  const open = new Set<string>();
  let followerClientInUse = false;

  const openReader = (): LogReader => {
    const name = `${followerName}-${Math.random().toString(36).slice(2, 10)}`;
    let handle: ClientHandle;
    let usesGiven = false;
    if (options.followerClient) {
      if (followerClientInUse)
        throw new Error(
          `${PKG}: followerClient already follows for another subscription; give addresses so each subscription opens its own`,
        );
      followerClientInUse = true;
      usesGiven = true;
      handle = new ClientHandle({ client: options.followerClient }, "follower");
    } else if (options.addresses && options.addresses.length > 0) {
      const { addresses, cluster = false, clientConfig } = options;
      handle = new ClientHandle(
        { addresses, cluster, clientConfig: { ...clientConfig, clientName: name } },
        "follower",
      );
      handle.warm();
    } else {
      throw new Error(
        `${PKG}: subscribe() needs a connection of its own for blocking reads: give the bus \`addresses\` or a \`followerClient\``,
      );
    }
    open.add(name);
    return {
      async end() {
        const client = await handle.get();
        return parseEnd(
          await client.invokeScript(glideScripts().end, {
            keys: [keys.entries, keys.meta],
            args: endArgs(),
          }),
        );
      },
      async read(after, limit) {
        const client = await handle.get();
        const batch = isCluster(client) ? new ClusterBatch(false) : new Batch(false);
        batch
          .hmget(keys.meta, ["epoch", "seq"])
          .xread({ [keys.entries]: after.cursor ?? "0-0" }, { block: blockMs, count: limit });
        // A batch gets no blocking-command allowance: its timeout covers the block itself.
        const replies = await (client as GlideClient).exec(batch as Batch, true, {
          timeout: blockMs + replyTimeoutMs,
        });
        if (!replies) throw new Error("pipeline discarded");
        return parseRead(replies[0], replies[1]);
      },
      async close() {
        open.delete(name);
        // Closing an opened client fails its in-flight read at once; a given client's read
        // ends by itself within blockMs.
        await handle.close();
        if (usesGiven) followerClientInUse = false;
      },
    };
  };

  // The ordered publish: standalone, one seed address (see keyspaceOf). The store's writes
  // travel with the append, in one script on the publishing client.
  const keyspace = keyspaceOf(options);
  publisher.warm();
  return {
    name: options.name ?? "valkey",
    blockMs,
    log: keys,
    ...(keyspace === undefined
      ? {}
      : {
          keyspace,
          async appendAfter(writes, data) {
            const client = await publisher.get();
            const call = appendAfterCall(keys, writes, data, maxLength);
            await publishLimiter.run(() => client.invokeScript(glideScripts().appendAfter, call));
            // WAIT on this connection covers the writes as well as the entry.
            if (durability !== undefined)
              await publishLimiter.run(() => waitDurable(client, false, [keys.meta], durability));
          },
        }),
    get followerNames() {
      return [...open];
    },
    getClient: () => publisher.get(),
    async append(data) {
      const client = await publisher.get();
      await publishLimiter.run(() =>
        client.invokeScript(glideScripts().append, {
          keys: [keys.entries, keys.meta],
          args: appendArgs(data, maxLength),
        }),
      );
      if (durability !== undefined)
        await publishLimiter.run(() =>
          waitDurable(client, isCluster(client), [keys.meta], durability),
        );
    },
    openReader,
    close: () => publisher.close(),
  };
}

/**
 * An InvalidationBus on a capped Stream: the Valkey transport (`createValkeyTransport`) followed
 * by core's follower (`createLogBus`), which confirms after every read that left nothing unread
 * (dated by its sending), reports "down" on a failed read and retries from its position (glide
 * reconnects by itself), drops and counts entries that do not decode, and resets on a new epoch
 * or any gap (a trimmed log, a deleted entry, a log lost with a server or a failover).
 */
export function createValkeyBus(options: ValkeyBusOptions): ValkeyBus {
  const transport = createValkeyTransport(options);
  const logger = options.logger;
  const inner = createLogBus(transport, {
    errorPrefix: PKG,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    ...(options.replyTimeoutMs === undefined ? {} : { replyTimeoutMs: options.replyTimeoutMs }),
    ...(logger?.warn ? { logger: { warn: (m, d) => logger.warn?.(m, d) } } : {}),
  });
  return {
    name: transport.name,
    log: transport.log,
    get followerNames() {
      return transport.followerNames;
    },
    getClient: () => transport.getClient(),
    get dropped() {
      return inner.dropped;
    },
    publish: (message) => inner.publish(message),
    ...(inner.publishAfter === undefined
      ? {}
      : { keyspace: inner.keyspace, publishAfter: inner.publishAfter }),
    subscribe: (handlers) => inner.subscribe(handlers),
    onState: (listener) => inner.onState(listener),
    close: () => inner.close(),
  };
}
