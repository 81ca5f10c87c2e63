import {
  type BusHandlers,
  type BusState,
  encodeMessage,
  type InvalidationBus,
  type InvalidationMessage,
  type Unsubscribe,
} from "@authcache/core";
import { MemoryLog } from "./memory-log.ts";
import { unref } from "./unref.ts";

/** Options of `createMemoryBus`. */
export interface MemoryBusOptions {
  /** Entries the log keeps; older ones are trimmed, and a follower behind them is reset. */
  readonly maxLength?: number;
  /** How often each follower confirms it is caught up (`caughtUp`), in ms. */
  readonly confirmIntervalMs?: number;
  /** The clock for `caughtUp(at)`, epoch ms (default `Date.now`). */
  readonly now?: () => number;
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
  /** Appends `raw` as it is (bypassing `encodeMessage`): a malformed entry from another system. */
  appendRaw(raw: string): void;
  /** Entries the shared log holds now. */
  readonly length: number;
  /** The position the next entry will get (entries ever appended). */
  readonly end: number;
}

interface Follower {
  position: number;
  readonly handlers: BusHandlers;
  active: boolean;
  scheduled: boolean;
}

const ERR = "@authcache/adapter-memory";

/**
 * Creates the in-process invalidation bus: the log is an array with positions, shared by every
 * view. Delivery is asynchronous (a microtask after the append), in log order, and each
 * follower confirms with `caughtUp(now)` on subscribing and every `confirmIntervalMs`. Timers
 * are unref'd and stopped by `close()`.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  const maxLength = options.maxLength ?? 10_000;
  const confirmIntervalMs = options.confirmIntervalMs ?? 250;
  if (!(Number.isInteger(maxLength) && maxLength > 0))
    throw new RangeError(`${ERR}: maxLength must be a positive integer, got ${maxLength}`);
  if (!(confirmIntervalMs > 0))
    throw new RangeError(`${ERR}: confirmIntervalMs must be positive, got ${confirmIntervalMs}`);
  return createView(new MemoryLog(maxLength), confirmIntervalMs, options.now ?? Date.now);
}

function createView(log: MemoryLog, confirmIntervalMs: number, now: () => number): MemoryBus {
  const followers = new Set<Follower>();
  const stateListeners = new Set<(state: BusState) => void>();
  let state: BusState | undefined;
  let deaf = false;
  let connected = true;
  let closed = false;
  let dropped = 0;
  /** Highest position this view has counted as dropped, so two followers count it once. */
  let droppedThrough = -1;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let reconnect: ReturnType<typeof setTimeout> | undefined;
  let stopListening: (() => void) | undefined;

  const setState = (next: BusState) => {
    if (state === next) return;
    state = next;
    for (const listener of [...stateListeners]) listener(next);
  };

  const hearing = () => !closed && !deaf && connected;

  /** Applies everything between the follower's position and the end of the log. */
  const drain = (f: Follower) => {
    if (!f.active || !hearing()) return;
    if (f.position < log.start) {
      // Entries it never saw are gone: the cache must flush, then follow from the end.
      f.position = log.end;
      f.handlers.reset();
    }
    while (f.active && hearing() && f.position < log.end) {
      const position = f.position;
      const entry = log.at(position);
      f.position += 1;
      if (entry?.message) {
        f.handlers.message(entry.message);
      } else if (position > droppedThrough) {
        droppedThrough = position;
        dropped += 1;
      }
    }
  };

  const confirm = (f: Follower) => {
    drain(f);
    if (f.active && hearing() && f.position === log.end) f.handlers.caughtUp(now());
  };

  const schedule = (f: Follower) => {
    if (f.scheduled) return;
    f.scheduled = true;
    queueMicrotask(() => {
      f.scheduled = false;
      drain(f);
    });
  };

  const start = () => {
    if (ticker) return;
    ticker = setInterval(() => {
      for (const f of [...followers]) confirm(f);
    }, confirmIntervalMs);
    unref(ticker);
    stopListening = log.onAppend(() => {
      for (const f of followers) schedule(f);
    });
  };

  const stop = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
    stopListening?.();
    stopListening = undefined;
  };

  const bus: MemoryBus = {
    name: "memory",
    get dropped() {
      return dropped;
    },
    get deaf() {
      return deaf;
    },
    get length() {
      return log.length;
    },
    get end() {
      return log.end;
    },
    async publish(message: InvalidationMessage) {
      if (closed) throw new Error(`${ERR}: publish on a closed bus`);
      log.append(encodeMessage(message));
    },
    async subscribe(handlers: BusHandlers): Promise<Unsubscribe> {
      if (closed) throw new Error(`${ERR}: subscribe on a closed bus`);
      const f: Follower = { position: log.end, handlers, active: true, scheduled: false };
      followers.add(f);
      start();
      queueMicrotask(() => {
        if (!f.active || !hearing()) return;
        setState("up");
        confirm(f);
      });
      return () => {
        f.active = false;
        followers.delete(f);
        if (followers.size === 0) stop();
      };
    },
    onState(listener: (state: BusState) => void): Unsubscribe {
      stateListeners.add(listener);
      return () => {
        stateListeners.delete(listener);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const f of followers) f.active = false;
      followers.clear();
      stop();
      if (reconnect) clearTimeout(reconnect);
      reconnect = undefined;
    },
    connect() {
      return createView(log, confirmIntervalMs, now);
    },
    setDeaf(next: boolean) {
      deaf = next;
      if (!deaf) for (const f of [...followers]) confirm(f);
    },
    interrupt(downMs = 20) {
      if (closed) return;
      connected = false;
      setState("down");
      if (reconnect) clearTimeout(reconnect);
      reconnect = setTimeout(() => {
        reconnect = undefined;
        if (closed) return;
        connected = true;
        setState("up");
        for (const f of [...followers]) confirm(f);
      }, downMs);
      unref(reconnect);
    },
    trim(keep: number) {
      log.trim(keep);
    },
    appendRaw(raw: string) {
      log.append(raw);
    },
  };
  return bus;
}
