import type { BusState, InvalidationBus } from "@authcache/core";
import {
  type BusHandlers,
  createLogBus,
  type LogBus,
  type LogReader,
  type LogTransport,
  type StoreWrite,
  type Unsubscribe,
} from "@authcache/core/adapter";
import { MemoryLog } from "./memory-log.ts";
import { type MemoryStore, type MemoryStoreWriter, memoryStoreWriter } from "./memory-store.ts";
import { unref } from "./unref.ts";

/** Options of `createMemoryBus`. */
export interface MemoryBusOptions {
  /** Entries the log keeps; older ones are trimmed, and a follower behind them is reset. */
  readonly maxLength?: number;
  /** How often each follower confirms it is caught up (`caughtUp`), in ms. */
  readonly confirmIntervalMs?: number;
  /** The clock for `caughtUp(at)`, epoch ms (default `Date.now`). */
  readonly now?: () => number;
  /**
   * The memory store (from `createMemoryStore`, the very object) the caches of this bus use.
   * Given, the bus and every view of it declare that store's `keyspace` and offer
   * `publishAfter`: a revocation's store writes and its entry are made in one synchronous step
   * (the ordered publish). Without it, the bus declares no keyspace.
   */
  readonly store?: MemoryStore;
}

/** The store an ordered publish writes into, and its keyspace. */
interface Ordered {
  readonly keyspace: string;
  readonly write: MemoryStoreWriter;
}

/**
 * An `InvalidationBus` on an in-process log, plus test hooks. Every view (the bus itself and each
 * `connect()`) follows the same log; each `subscribe()` is an independent follower.
 */
export interface MemoryBus extends InvalidationBus {
  /** Returns another view on the same log, as a second process would have: its own followers,
   *  its own deafness, state and `dropped` count. */
  connect(): MemoryBus;
  /** While deaf, this view's followers neither deliver nor confirm (a stalled connection: no
   *  error, no "down"); the log keeps growing. Hearing again delivers what they missed, in
   *  order, or calls `reset()` when the log was trimmed past them. */
  setDeaf(deaf: boolean): void;
  readonly deaf: boolean;
  /** Simulates a cut connection: "down" now; after `downMs` (default 20) "up", and the
   *  followers resume from their positions. */
  interrupt(downMs?: number): void;
  /** Trims the shared log to its newest `keep` entries. */
  trim(keep: number): void;
  /** Deletes the entry `fromEnd` places before the newest (0: the newest), as XDEL would. */
  remove(fromEnd: number): void;
  /** Replaces the shared log with an empty one under a new epoch (a recreated log). */
  recreate(): void;
  /** Appends `raw` as it is (bypassing `encodeMessage`): a malformed entry from another system. */
  appendRaw(raw: string): void;
  /** Makes this view's reads travel `ms` each way (a slow network; 0 turns it off). */
  setLatency(ms: number): void;
  /** Entries the shared log holds now. */
  readonly length: number;
  /** The sequence number of the newest entry (entries appended in this epoch). */
  readonly end: number;
}

const ERR = "@authcache/adapter-memory";

/**
 * Creates the in-process invalidation bus: a log of sequence-numbered entries in an epoch, shared
 * by every view, followed by core's log follower (`createLogBus`). Delivery is asynchronous, in
 * log order; a follower's read waits up to half of `confirmIntervalMs` for an append, so each
 * confirms at least that often. Timers are unref'd and stopped by `close()`. Given `store`, the
 * bus (and every view) offers the ordered publish into that store (see `MemoryBusOptions.store`).
 */
export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  const maxLength = options.maxLength ?? 10_000;
  const confirmIntervalMs = options.confirmIntervalMs ?? 250;
  if (!(Number.isInteger(maxLength) && maxLength > 0))
    throw new RangeError(`${ERR}: maxLength must be a positive integer, got ${maxLength}`);
  if (!(confirmIntervalMs > 0))
    throw new RangeError(`${ERR}: confirmIntervalMs must be positive, got ${confirmIntervalMs}`);
  let ordered: Ordered | undefined;
  if (options.store !== undefined) {
    const write = memoryStoreWriter(options.store);
    const keyspace = options.store.keyspace;
    if (write === undefined || typeof keyspace !== "string")
      throw new TypeError(
        `${ERR}: store must be a store made by createMemoryStore (the object itself, not a wrapper or a copy)`,
      );
    ordered = { keyspace, write };
  }
  return createView(new MemoryLog(maxLength), confirmIntervalMs, options.now ?? Date.now, ordered);
}

/** A read waiting for an append, for hearing again, or for the connection to come back. */
interface Waiter {
  wake(): void;
  fail(error: Error): void;
}

function createView(
  log: MemoryLog,
  confirmIntervalMs: number,
  now: () => number,
  ordered: Ordered | undefined,
): MemoryBus {
  const blockMs = Math.max(1, Math.floor(confirmIntervalMs / 2));
  const waiters = new Set<Waiter>();
  let deaf = false;
  let latencyMs = 0;
  let connected = true;
  let closed = false;
  let reconnect: ReturnType<typeof setTimeout> | undefined;

  const wakeAll = () => {
    for (const w of [...waiters]) w.wake();
  };
  const failAll = (error: Error) => {
    for (const w of [...waiters]) w.fail(error);
  };
  /** Resolves on the next wake (or after `ms` when given); rejects when the connection is cut. */
  const wait = (ms?: number) =>
    new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const w: Waiter = {
        wake: () => {
          waiters.delete(w);
          clearTimeout(timer);
          resolve();
        },
        fail: (error) => {
          waiters.delete(w);
          clearTimeout(timer);
          reject(error);
        },
      };
      waiters.add(w);
      if (ms !== undefined) {
        timer = setTimeout(w.wake, ms);
        unref(timer);
      }
    });
  const usable = async () => {
    for (;;) {
      if (closed) throw new Error(`${ERR}: bus closed`);
      if (!connected) throw new Error(`${ERR}: connection interrupted`);
      if (!deaf) return;
      await wait();
    }
  };

  const travel = () => (latencyMs > 0 ? new Promise((r) => setTimeout(r, latencyMs)) : undefined);

  const reader: LogReader = {
    async end() {
      await travel();
      await usable();
      const end = { epoch: log.epoch, seq: log.head };
      await travel();
      return end;
    },
    async read(after, limit) {
      await travel();
      await usable();
      if (after.epoch === log.epoch && log.head <= after.seq) {
        const stop = log.onAppend(wakeAll);
        try {
          await wait(blockMs);
        } finally {
          stop();
        }
        await usable();
      }
      const entries = log.after(after.seq, limit).map((e) => ({ seq: e.seq, data: e.raw }));
      const read = { epoch: log.epoch, head: log.head, entries };
      await travel();
      return read;
    },
    close() {},
  };

  const transport: LogTransport = {
    name: "memory",
    blockMs,
    async append(data) {
      if (closed) throw new Error(`${ERR}: publish on a closed bus`);
      log.append(data);
    },
    openReader: () => reader,
    async close() {},
    // The ordered publish: the writes, then the append, in one synchronous run (no await in
    // between, so no reader of the store or the log runs in between); a write that throws
    // (checked before any is made) appends nothing.
    ...(ordered === undefined
      ? {}
      : {
          keyspace: ordered.keyspace,
          async appendAfter(writes: readonly StoreWrite[], data: string) {
            if (closed) throw new Error(`${ERR}: publish on a closed bus`);
            ordered.write(writes);
            log.append(data);
          },
        }),
  };
  const inner: LogBus = createLogBus(transport, { now, errorPrefix: ERR });

  const bus: MemoryBus = {
    name: "memory",
    get dropped() {
      return inner.dropped;
    },
    get deaf() {
      return deaf;
    },
    get length() {
      return log.length;
    },
    get end() {
      return log.head;
    },
    async publish(message) {
      if (closed) throw new Error(`${ERR}: publish on a closed bus`);
      await inner.publish(message);
    },
    ...(inner.keyspace === undefined || inner.publishAfter === undefined
      ? {}
      : {
          keyspace: inner.keyspace,
          publishAfter: inner.publishAfter.bind(inner),
        }),
    async subscribe(handlers: BusHandlers): Promise<Unsubscribe> {
      if (closed) throw new Error(`${ERR}: subscribe on a closed bus`);
      return inner.subscribe(handlers);
    },
    onState(listener: (state: BusState) => void): Unsubscribe {
      return inner.onState(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (reconnect) clearTimeout(reconnect);
      reconnect = undefined;
      failAll(new Error(`${ERR}: bus closed`));
      await inner.close();
    },
    connect() {
      return createView(log, confirmIntervalMs, now, ordered);
    },
    setDeaf(next: boolean) {
      deaf = next;
      if (!deaf) wakeAll();
    },
    interrupt(downMs = 20) {
      if (closed) return;
      connected = false;
      failAll(new Error(`${ERR}: connection interrupted`));
      if (reconnect) clearTimeout(reconnect);
      reconnect = setTimeout(() => {
        reconnect = undefined;
        connected = true;
      }, downMs);
      unref(reconnect);
    },
    trim(keep: number) {
      log.trim(keep);
    },
    remove(fromEnd: number) {
      log.remove(fromEnd);
    },
    recreate() {
      log.recreate();
    },
    appendRaw(raw: string) {
      log.append(raw);
    },
    setLatency(ms: number) {
      latencyMs = Math.max(0, ms);
    },
  };
  return bus;
}
