import {
  type BusHandlers,
  type BusState,
  decodeMessage,
  encodeMessage,
  type InvalidationBus,
  type Unsubscribe,
} from "@authcache/core";
import type { Cluster, Redis } from "ioredis";
import {
  closeClient,
  fastRetry,
  isCluster,
  PACKAGE,
  type RedisClient,
  type RedisConnectionOptions,
  resolveConnection,
} from "./connection.ts";
import {
  isNoSuchKey,
  parseInfo,
  parseRange,
  parseRead,
  type StreamEntry,
  type StreamInfo,
} from "./stream-reply.ts";

export interface RedisBusOptions extends RedisConnectionOptions {
  /** The stream every instance appends to and follows. Default `authcache:log`. In a cluster
   *  it is one key, so one slot: every instance follows the same stream. */
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
}

/** An `InvalidationBus` on a Redis (or Valkey) Stream, through ioredis. */
export interface RedisBus extends InvalidationBus {
  /** The client used to publish (yours if you passed one). Followers use their own connections. */
  readonly client: RedisClient;
  /** The stream key. */
  readonly stream: string;
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

interface Settings {
  readonly stream: string;
  readonly blockMs: number;
  readonly replyTimeoutMs: number;
  readonly batchSize: number;
  readonly connectionName: string;
}

/** The follower's own connection: a blocking read must not stall the publishing client. It
 *  never queues or resends commands across a reconnect (a resent read would skip the check
 *  that the stream still holds our position). */
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
        redisOptions: redisOverrides,
      })
    : (client as Redis).duplicate({
        ...redisOverrides,
        enableOfflineQueue: false,
        retryStrategy: fastRetry,
        lazyConnect: false,
      });
  conn.on("error", noop);
  return conn;
}

/** One subscription: follows the stream from its end on its own connection. */
class Follower {
  state: BusState | undefined;
  private readonly conn: RedisClient;
  /** Id of the last entry handled (or the stream's last id when we started); undefined when
   *  unknown. */
  private last: string | undefined;
  /** How many entries the stream had appended up to `last` (its `entries-added` then). */
  private seq = 0;
  /** True when `last` is an entry we read (or saw), so it must exist until trimmed. */
  private lastIsEntry = false;
  private running = true;
  private abort: ((error: Error) => void) | undefined;
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;
  private startedResolve: (() => void) | undefined;

  constructor(
    client: RedisClient,
    private readonly settings: Settings,
    private readonly handlers: BusHandlers,
    private readonly onState: () => void,
    private readonly onDropped: () => void,
  ) {
    this.conn = openFollowerConnection(client, settings.connectionName);
    this.conn.on("close", () => {
      if (!this.running) return;
      this.setState("down");
      this.abort?.(new Error("connection closed"));
    });
    this.conn.on("ready", () => this.wake?.());
    // A cluster heals a lost node connection by itself (and may resend to it): treat the loss
    // as a failure anyway, so the state says so and the position is checked again.
    this.conn.on("-node", () => {
      if (!this.running) return;
      this.setState("down");
      this.abort?.(new Error("cluster node connection lost"));
    });
    const started = new Promise<void>((resolve) => {
      this.startedResolve = resolve;
    });
    this.done = this.loop();
    this.started = started;
  }

  /** Resolves once the starting position is known, or the first attempt to learn it failed. */
  readonly started: Promise<void>;

  private setState(state: BusState): void {
    if (this.state === state) return;
    this.state = state;
    this.onState();
  }

  /** Races a reply against the connection closing and a deadline; a missed deadline means a
   *  dead socket, so the connection is reopened. */
  private bounded<T>(reply: Promise<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.abort = undefined;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no reply within ${ms} ms`));
        if (this.running) this.conn.disconnect(true);
      }, ms);
      this.abort = (error) => {
        finish();
        reject(error);
      };
      reply.then(
        (value) => {
          finish();
          resolve(value);
        },
        (error: unknown) => {
          finish();
          reject(error);
        },
      );
    });
  }

  /** Waits `ms`, or less if the connection becomes ready or the follower stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Learns the stream's position from `XINFO STREAM`: `undefined` when it does not exist. */
  private async info(): Promise<StreamInfo | undefined> {
    try {
      const raw = await this.bounded(
        this.conn.xinfo("STREAM", this.settings.stream),
        this.settings.replyTimeoutMs,
      );
      return this.checkedInfo(raw);
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw error;
    }
  }

  private checkedInfo(raw: unknown): StreamInfo {
    const info = parseInfo(raw);
    if (!info) throw new Error(`${PACKAGE}: XINFO STREAM lacks entries-added (Redis 7+ needed)`);
    return info;
  }

  /** Takes the stream's current end as the position to follow from. */
  private async anchor(): Promise<void> {
    const info = await this.info();
    this.last = info?.lastGeneratedId ?? "0-0";
    this.seq = info?.entriesAdded ?? 0;
    this.lastIsEntry = info !== undefined && info.lastEntryId === info.lastGeneratedId;
  }

  /** Whether the stream still holds everything after our position. `seq` counts the entries
   *  appended up to our position; the stream counts every append (`entries-added`), so
   *  `entries-added - length` entries were trimmed: more than `seq` means some we never read
   *  are gone. Fewer appends than `seq`, or our own entry missing while it should still be
   *  there, means the stream was recreated (a server restart without persistence). */
  private stillHolds(info: StreamInfo | undefined, lastExists: boolean | undefined): boolean {
    if (info === undefined) return this.seq === 0;
    if (info.entriesAdded < this.seq) return false;
    const trimmed = info.entriesAdded - info.length;
    if (trimmed > this.seq) return false;
    if (lastExists === false && trimmed < this.seq) return false;
    return true;
  }

  /** One round trip: checks that the stream still holds our position, then reads what follows
   *  it, blocking up to blockMs. */
  private async readOnce(
    last: string,
  ): Promise<{ gone: boolean; entries: StreamEntry[]; sentAt: number }> {
    const { stream, batchSize, blockMs, replyTimeoutMs } = this.settings;
    const checkEntry = this.lastIsEntry;
    const pipeline = this.conn.pipeline();
    pipeline.xinfo("STREAM", stream);
    if (checkEntry) pipeline.xrange(stream, last, last);
    pipeline.xread("COUNT", batchSize, "BLOCK", blockMs, "STREAMS", stream, last);
    const sentAt = Date.now();
    const replies = await this.bounded(pipeline.exec(), blockMs + replyTimeoutMs);
    if (!replies) throw new Error("pipeline discarded");
    const [infoError, infoRaw] = replies[0] ?? [new Error("no XINFO reply"), undefined];
    if (infoError && !isNoSuchKey(infoError)) throw infoError;
    for (const [error] of replies.slice(1)) if (error) throw error;
    const info = infoError ? undefined : this.checkedInfo(infoRaw);
    const lastExists = checkEntry ? parseRange(replies[1]?.[1]).length > 0 : undefined;
    if (!this.stillHolds(info, lastExists)) return { gone: true, entries: [], sentAt };
    return { gone: false, entries: parseRead(replies[checkEntry ? 2 : 1]?.[1]), sentAt };
  }

  private safely(call: () => void): void {
    try {
      call();
    } catch {
      // A throwing handler must not stop the log: the next entries still have to arrive.
    }
  }

  private async loop(): Promise<void> {
    const { batchSize, replyTimeoutMs } = this.settings;
    let failures = 0;
    let first = true;
    while (this.running) {
      try {
        if (first && this.conn.status !== "ready") {
          await this.bounded(
            new Promise<void>((resolve) => this.conn.once("ready", () => resolve())),
            replyTimeoutMs,
          );
        }
        if (this.last === undefined) {
          const unknown = !first;
          await this.anchor();
          // A position learnt late (or after losing ours) may have skipped entries: anchoring
          // first and resetting after means every skipped entry is covered by the flush.
          if (unknown) this.safely(() => this.handlers.reset());
        }
        if (first) {
          first = false;
          this.startedResolve?.();
        }
        const last = this.last as string;
        const { gone, entries, sentAt } = await this.readOnce(last);
        if (!this.running) break;
        if (gone) {
          this.last = undefined;
          continue;
        }
        failures = 0;
        this.setState("up");
        for (const entry of entries) {
          if (!this.running) break;
          this.last = entry.id;
          this.seq++;
          this.lastIsEntry = true;
          const message = entry.data === undefined ? undefined : decodeMessage(entry.data);
          if (message === undefined) {
            this.onDropped();
            continue;
          }
          this.safely(() => this.handlers.message(message));
        }
        // A read that left nothing unread proves we have applied every entry appended before
        // it was sent (not before its reply came: an append may land in between).
        if (this.running && entries.length < batchSize) {
          this.safely(() => this.handlers.caughtUp(sentAt));
        }
      } catch {
        if (!this.running) break;
        if (first) {
          // The first attempt failed (server down at start-up): subscribe() resolves anyway
          // and the follower keeps trying; it resets once it learns a position.
          first = false;
          this.startedResolve?.();
        }
        this.setState("down");
        failures++;
        await this.pause(Math.min(25 * 2 ** Math.min(failures, 6), 1000));
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort?.(new Error("stopped"));
    this.wake?.();
    this.startedResolve?.();
    this.conn.disconnect();
    await this.done;
  }
}

/**
 * Creates an InvalidationBus on a Redis or Valkey Stream. `publish` appends with
 * `XADD MAXLEN ~ maxLength`; each `subscribe` follows the stream with blocking reads on its
 * own connection, confirms it is caught up after every read that left nothing unread, resumes
 * from its last id after a reconnect, and calls `reset()` when the stream no longer holds
 * its position (trimmed past it, or lost by a server restart).
 */
export function createRedisBus(options: RedisBusOptions): RedisBus {
  const confirmIntervalMs = positiveInt("confirmIntervalMs", options.confirmIntervalMs, 250);
  // A confirmation carries the time its read was sent, so between two confirmations up to two
  // reads pass: a third of the interval each leaves room for the round trips.
  const blockMs = positiveInt(
    "blockMs",
    options.blockMs,
    Math.max(1, Math.floor(confirmIntervalMs / 3)),
  );
  if (blockMs * 2 > confirmIntervalMs) {
    throw new RangeError(
      `${PACKAGE}: createRedisBus: blockMs must be at most half of confirmIntervalMs`,
    );
  }
  const maxLength = positiveInt("maxLength", options.maxLength, 10_000);
  const settings: Settings = {
    stream: options.stream ?? "authcache:log",
    blockMs,
    replyTimeoutMs: positiveInt("replyTimeoutMs", options.replyTimeoutMs, 1000),
    batchSize: positiveInt("batchSize", options.batchSize, 500),
    connectionName: options.connectionName ?? "authcache-bus",
  };
  if (typeof settings.stream !== "string" || settings.stream.length === 0) {
    throw new TypeError(`${PACKAGE}: createRedisBus: stream must be a non-empty string`);
  }
  const { client, owned, clustered } = resolveConnection(options, "createRedisBus");
  const followers = new Set<Follower>();
  const listeners = new Set<(state: BusState) => void>();
  let reported: BusState | undefined;
  let dropped = 0;
  let closed = false;

  // The bus is up while every follower is; one listener call per change.
  const refreshState = (): void => {
    if (followers.size === 0) return;
    let state: BusState = "up";
    for (const f of followers) if (f.state !== "up") state = "down";
    if (state === reported) return;
    reported = state;
    for (const listener of listeners) {
      try {
        listener(state);
      } catch {
        // A listener's failure is its own; the others still hear the change.
      }
    }
  };

  const bus: RedisBus = {
    name: "redis",
    client,
    stream: settings.stream,
    clustered,
    get dropped() {
      return dropped;
    },

    async publish(message) {
      if (closed) throw new Error(`${PACKAGE}: redis bus publish after close()`);
      try {
        await client.xadd(
          settings.stream,
          "MAXLEN",
          "~",
          maxLength,
          "*",
          "m",
          encodeMessage(message),
        );
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        throw new Error(`${PACKAGE}: redis bus publish failed: ${text}`, { cause: error });
      }
    },

    async subscribe(handlers): Promise<Unsubscribe> {
      if (closed) throw new Error(`${PACKAGE}: redis bus subscribe after close()`);
      const follower = new Follower(client, settings, handlers, refreshState, () => {
        dropped++;
      });
      followers.add(follower);
      await follower.started;
      return () => {
        if (!followers.delete(follower)) return;
        void follower.stop();
        // The bus state no longer depends on this follower.
        refreshState();
      };
    },

    onState(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      const stopping = [...followers].map((f) => f.stop());
      followers.clear();
      listeners.clear();
      await Promise.all(stopping);
      if (owned) await closeClient(client);
    },
  };
  return bus;
}
