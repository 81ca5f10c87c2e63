import type {
  BusHandlers,
  BusState,
  InvalidationMessage,
  ResetCause,
  StoreWrite,
  Unsubscribe,
} from "./contracts.ts";
import type {
  LogBus,
  LogBusOptions,
  LogPosition,
  LogRead,
  LogReader,
  LogTransport,
} from "./log-transport.ts";
import { decodeMessage, encodeMessage } from "./message.ts";

/** The follower of `createLogBus` (see log-transport.ts for the protocol a transport keeps). */

interface Shared {
  readonly transport: LogTransport;
  readonly batchSize: number;
  readonly replyTimeoutMs: number;
  readonly now: () => number;
  warn(message: string, error?: unknown): void;
  countDropped(epoch: string | undefined, seq: number | undefined): void;
  stateChanged(): void;
}

const stoppedError = new Error("follower stopped");

/**
 * One turn of the event loop (where the runtime has `setImmediate`): a follower that has just
 * delivered entries lets the process's pending I/O (requests, other followers of the same log)
 * run before it sends its next read. Its own next entry is not delayed: a read finds what was
 * appended meanwhile at once, and confirmations are dated by when a read is sent.
 */
const nextTurn: (() => Promise<void>) | undefined =
  typeof globalThis.setImmediate === "function"
    ? () => new Promise<void>((resolve) => globalThis.setImmediate(resolve))
    : undefined;

/** One subscription: reads the log from its end, in order, on its own reader. */
class Follower {
  state: BusState | undefined;
  private reader: LogReader | undefined;
  private pos: LogPosition | undefined;
  /** The position must be learnt again, then the cache told to flush (`reset`). */
  private mustReset = false;
  /** Why, for the `reset` to come ("lost" wins over the others until it is delivered). */
  private resetCause: ResetCause = "gap";
  private lastConfirm = Number.NEGATIVE_INFINITY;
  private running = true;
  private halt!: () => void;
  private readonly halted: Promise<never>;
  /** What `within` waits on, told when the follower stops. */
  private readonly onHalt = new Set<() => void>();
  private readonly done: Promise<void>;
  readonly started: Promise<void>;
  private markStarted!: () => void;

  constructor(
    private readonly s: Shared,
    private readonly handlers: BusHandlers,
  ) {
    this.halted = new Promise<never>((_, reject) => {
      this.halt = () => {
        reject(stoppedError);
        for (const stop of [...this.onHalt]) stop();
      };
    });
    this.halted.catch(() => {});
    this.started = new Promise<void>((resolve) => {
      this.markStarted = resolve;
    });
    this.done = this.loop();
  }

  /** Waits for `work`, unless the follower stops first or `ms` passes (then the reader is
   *  taken for dead). One promise settled by whichever comes first (no race and finally: an
   *  entry reaches its handler a few promise hops sooner). */
  private within<T>(work: Promise<T>, ms: number): Promise<T> {
    if (!this.running) {
      work.catch(() => {});
      return Promise.reject(stoppedError);
    }
    return new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.onHalt.delete(stopped);
      };
      const stopped = (): void => {
        settle();
        reject(stoppedError);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`no reply within ${ms} ms`));
      }, ms);
      this.onHalt.add(stopped);
      work.then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  private async sleep(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    try {
      await Promise.race([wait, this.halted]);
    } finally {
      clearTimeout(timer);
    }
  }

  private setState(state: BusState): void {
    if (this.state === state) return;
    this.state = state;
    this.s.stateChanged();
  }

  /** The one rule for handler errors: logged; the position advances. A `message` handler that
   *  threw may not have applied the entry, so the cache is told to flush (`reset`). */
  private call(what: "message" | "reset" | "caughtUp", run: () => void): void {
    try {
      run();
    } catch (error) {
      this.s.warn(`a bus ${what} handler threw`, error);
      if (what === "message") this.call("reset", () => this.handlers.reset());
    }
  }

  private confirm(at: number): void {
    // Never backwards, whatever the clock does.
    if (at > this.lastConfirm) this.lastConfirm = at;
    const t = this.lastConfirm;
    this.call("caughtUp", () => this.handlers.caughtUp(t));
  }

  /** Applies one read. Returns true, or why the log no longer holds what follows our position
   *  (the caller re-anchors and resets): a new epoch or no log ("epoch"); entries removed
   *  before we read them ("gap"); or, in the same epoch, a head below what we applied or a
   *  sequence number we applied issued again ("lost": the log lost acknowledged writes). */
  private apply(read: LogRead, from: LogPosition): true | ResetCause {
    if (read.epoch === undefined || read.epoch !== from.epoch) return "epoch";
    if (read.head < from.seq) return "lost";
    let pos = from;
    for (const entry of read.entries) {
      if (!this.running) return true;
      if (entry.seq === undefined) {
        // Not appended through the protocol: dropped, and the sequence is unaffected.
        if (entry.cursor !== undefined) pos = { ...pos, cursor: entry.cursor };
        this.pos = pos;
        this.s.countDropped(undefined, undefined);
        continue;
      }
      if ((entry.epoch ?? read.epoch) !== pos.epoch) return "epoch";
      if (entry.seq <= pos.seq) return "lost";
      if (entry.seq !== pos.seq + 1) return "gap";
      pos = { epoch: pos.epoch, seq: entry.seq, cursor: entry.cursor ?? pos.cursor };
      this.pos = pos;
      const message: InvalidationMessage | undefined = decodeMessage(entry.data);
      if (message === undefined) this.s.countDropped(pos.epoch, pos.seq);
      else this.call("message", () => this.handlers.message(message));
    }
    // Entries the head promised but the read did not return were removed before we read them.
    return read.entries.length >= this.s.batchSize || pos.seq >= read.head ? true : "gap";
  }

  private dropReader(): void {
    const r = this.reader;
    this.reader = undefined;
    if (r === undefined) return;
    try {
      Promise.resolve(r.close()).catch(() => {});
    } catch {
      // closing a dead reader may throw; it is gone either way
    }
  }

  private async loop(): Promise<void> {
    const { transport, batchSize, replyTimeoutMs, now } = this.s;
    const budget = transport.blockMs + replyTimeoutMs;
    let failures = 0;
    while (this.running) {
      try {
        this.reader ??= await this.within(Promise.resolve(transport.openReader()), budget);
        const reader = this.reader;
        if (this.pos === undefined) {
          const reset = this.mustReset;
          const askedAt = now();
          // Anchor first, reset after: every entry skipped is covered by the flush. A follower
          // starts at the end, so it is caught up as of when it asked where the end was.
          this.pos = await this.within(reader.end(), budget);
          this.mustReset = false;
          // "up" only once the reset is delivered: a cache hearing "up" may trust its L1.
          if (reset) {
            const cause = this.resetCause;
            this.resetCause = "gap";
            this.call("reset", () => this.handlers.reset(cause));
          }
          this.setState("up");
          this.confirm(askedAt);
          this.markStarted();
        }
        const from = this.pos;
        // A read that left nothing unread proves that everything appended before it was SENT
        // has been applied (an append may land while the reply travels): dated by sending.
        const sentAt = now();
        const read = await this.within(reader.read(from, batchSize), budget);
        if (!this.running) break;
        failures = 0;
        const applied = this.apply(read, from);
        if (applied !== true) {
          if (applied === "lost" || this.resetCause !== "lost") this.resetCause = applied;
          this.pos = undefined;
          this.mustReset = true;
          continue;
        }
        this.setState("up");
        if (!this.running) break;
        if (read.entries.length < batchSize) {
          this.confirm(sentAt);
          if (transport.pollIntervalMs) await this.sleep(transport.pollIntervalMs);
          else if (read.entries.length > 0 && nextTurn !== undefined) await nextTurn();
        }
      } catch (error) {
        if (!this.running) break;
        // A follower that could not learn its position yet starts anyway, and resets once it
        // does: whatever was appended meanwhile is covered by the flush.
        if (this.pos === undefined) this.mustReset = true;
        this.markStarted();
        this.setState("down");
        failures++;
        if (failures === 1) this.s.warn("bus follower read failed", error);
        if (error instanceof Error && error.message.startsWith("no reply within"))
          this.dropReader();
        try {
          await this.sleep(Math.min(25 * 2 ** Math.min(failures, 6), 1000));
        } catch {
          break;
        }
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.halt();
    this.markStarted();
    this.dropReader();
    await this.done;
  }
}

/**
 * Creates an `InvalidationBus` over `transport`. `publish` appends the encoded message (refusing
 * one above `MAX_LOG_ENTRY_BYTES`, which every follower would drop). Each `subscribe` is a follower
 * with its own reader that starts at the log's end and:
 * - delivers entries in sequence order, each once;
 * - confirms `caughtUp(sentAt)` after every read that left nothing unread, dated by when that
 *   read was sent, never by when its reply arrived; confirmations never go backwards;
 * - on a new epoch, a missing log, a head behind its position, or any gap in the sequence
 *   (a trimmed log, a deleted entry, a lost write), learns the log's end again and then calls
 *   `reset(cause)`: "epoch", "gap", or "lost" when, in the same epoch, the head went back below
 *   entries it had applied or a sequence number it had applied came again (acknowledged writes
 *   lost in a failover; see `ResetCause`);
 * - on a failed read reports "down" and retries with backoff from the same position; a read with
 *   no reply within `blockMs + replyTimeoutMs` closes its reader and opens another;
 * - drops and counts entries that do not decode (`dropped`, once per entry per bus).
 * The bus is "up" while every follower is; listeners hear each change once. A transport with
 * `appendAfter` and `keyspace` gives the bus `publishAfter` and `keyspace` (the ordered publish).
 */
export function createLogBus(transport: LogTransport, options: LogBusOptions = {}): LogBus {
  const err = options.errorPrefix ?? "@authcache/core";
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new RangeError(`${err}: ${name} must be a positive integer, got ${value}`);
    return value;
  };
  const batchSize = positive("batchSize", options.batchSize, 500);
  const replyTimeoutMs = positive("replyTimeoutMs", options.replyTimeoutMs, 1000);
  const logger = options.logger;
  const followers = new Set<Follower>();
  const listeners = new Set<(state: BusState) => void>();
  let reported: BusState | undefined;
  let dropped = 0;
  /** The last entry counted as dropped, so several followers of one bus count it once. */
  let droppedMark: { epoch: string; seq: number } | undefined;
  let closed = false;

  const warn = (message: string, error?: unknown) => {
    try {
      logger?.warn(
        `${err}: ${message}`,
        error === undefined ? undefined : { error: String(error) },
      );
    } catch {
      // a logger's failure is its own
    }
  };

  const shared: Shared = {
    transport,
    batchSize,
    replyTimeoutMs,
    now: options.now ?? Date.now,
    warn,
    countDropped(epoch, seq) {
      if (epoch !== undefined && seq !== undefined) {
        if (droppedMark && droppedMark.epoch === epoch && seq <= droppedMark.seq) return;
        droppedMark = { epoch, seq };
      }
      dropped++;
    },
    stateChanged() {
      if (followers.size === 0) return;
      let state: BusState | undefined = "up";
      for (const f of followers) {
        if (f.state === "down") {
          state = "down";
          break;
        }
        if (f.state === undefined) state = undefined;
      }
      if (state === undefined || state === reported) return;
      reported = state;
      for (const listener of [...listeners]) {
        try {
          listener(state);
        } catch (error) {
          warn("a bus state listener threw", error);
        }
      }
    },
  };

  const appendAfter = transport.appendAfter;
  const bus: LogBus = {
    name: transport.name,
    transport,
    get dropped() {
      return dropped;
    },
    async publish(message) {
      if (closed) throw new Error(`${err}: publish after close()`);
      // Refuses (RangeError) an entry above MAX_LOG_ENTRY_BYTES, which every follower drops.
      const data = encodeMessage(message);
      try {
        await transport.append(data);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        throw new Error(`${err}: ${transport.name} bus publish failed: ${text}`, { cause: error });
      }
    },
    ...(appendAfter === undefined || transport.keyspace === undefined
      ? {}
      : {
          keyspace: transport.keyspace,
          async publishAfter(writes: readonly StoreWrite[], message: InvalidationMessage) {
            if (closed) throw new Error(`${err}: publish after close()`);
            const data = encodeMessage(message);
            try {
              await appendAfter.call(transport, writes, data);
            } catch (error) {
              const text = error instanceof Error ? error.message : String(error);
              throw new Error(`${err}: ${transport.name} bus ordered publish failed: ${text}`, {
                cause: error,
              });
            }
          },
        }),
    async subscribe(handlers): Promise<Unsubscribe> {
      if (closed) throw new Error(`${err}: subscribe after close()`);
      const follower = new Follower(shared, handlers);
      followers.add(follower);
      await follower.started;
      return () => {
        if (!followers.delete(follower)) return;
        void follower.stop();
        shared.stateChanged();
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
      await transport.close();
    },
  };
  return bus;
}
