/**
 * Test-side fault wrappers around REAL stores and buses (never a mock of a server): each
 * instance of the explorer's fleet talks to the shared store and log through its own wrappers,
 * as each process has its own connection.
 *
 * - FaultyStore: "ok" passes calls through; "hang" holds every call until the explorer releases
 *   it (in order, one at a time, or all), so a slow L2 write can land after an invalidation;
 *   "fail" rejects at once (a cut connection). `lose` runs the oldest held call and then
 *   rejects it (the write happened, the reply was lost).
 * - FaultyBus: "slow" holds appends until released (in order); "cut" reports "down" to the
 *   cache, refuses publishes and holds deliveries until
 *   reconnected; "deaf" (for backends without a native stall) holds deliveries and
 *   confirmations without saying anything; `trimPast` drops what a deaf follower holds and
 *   resets it on hearing again (a log trimmed past it); `duplicate` redelivers the last entries
 *   (at-least-once delivery).
 */
import type { BusState, InvalidationBus, Store } from "@authcache/core";
import type {
  BusHandlers,
  InvalidationMessage,
  StoreWrite,
  Unsubscribe,
} from "@authcache/core/adapter";

const STORE_CALLS = [
  "get",
  "getMany",
  "read",
  "set",
  "setIfFence",
  "deleteMany",
  "deleteOwner",
  "incr",
  "getCounter",
  "addMember",
  "hasMember",
  "countMembers",
] as const;

interface Held {
  readonly run: () => Promise<unknown>;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

export type StoreMode = "ok" | "hang" | "fail";

export class FaultyStore {
  mode: StoreMode = "ok";
  private held: Held[] = [];
  readonly store: Store;

  constructor(inner: Store) {
    const wrapped: Record<string, unknown> = {
      name: inner.name,
      close: () => Promise.resolve(),
    };
    // The ordered publish (a bus making a revocation's store writes with its append) is taken
    // when the store and the bus declare one keyspace: forward it, so the explorer covers it.
    if (inner.keyspace !== undefined) wrapped.keyspace = inner.keyspace;
    for (const m of STORE_CALLS) {
      wrapped[m] = (...args: unknown[]) => {
        const run = () => (inner[m] as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
        if (this.mode === "fail") return Promise.reject(new Error(`explorer: store cut (${m})`));
        if (this.mode === "hang") {
          return new Promise((resolve, reject) => this.held.push({ run, resolve, reject }));
        }
        return run();
      };
    }
    this.store = wrapped as unknown as Store;
  }

  get holding(): number {
    return this.held.length;
  }

  /** Lets the oldest held call through. */
  step(): void {
    const h = this.held.shift();
    if (h !== undefined) h.run().then(h.resolve, h.reject);
  }

  /** Runs the oldest held call, then fails it (a reply lost after the write). */
  lose(): void {
    const h = this.held.shift();
    if (h === undefined) return;
    const fail = () => h.reject(new Error("explorer: store reply lost"));
    h.run().then(fail, fail);
  }

  setMode(mode: StoreMode): void {
    this.mode = mode;
    if (mode === "ok") while (this.held.length > 0) this.step();
    if (mode === "fail") {
      for (const h of this.held.splice(0)) h.reject(new Error("explorer: store cut while held"));
    }
  }
}

/** Hooks a backend gives the bus wrapper for faults it can make natively (the memory log can
 *  stall a follower and trim the log itself). */
export interface NativeLog {
  setDeaf(deaf: boolean): void;
}

export class FaultyBus {
  cut = false;
  deaf = false;
  /** Confirmations passed to the cache. */
  confirmations = 0;
  /** Ordered publishes (store writes + append in one step) sent to the inner bus. */
  orderedPublishes = 0;
  /** While set, appends wait (a slow write to the log) until `releaseAppends`. */
  slowAppends = false;
  private readonly heldAppends: (() => void)[] = [];
  private handlers: BusHandlers | undefined;
  private readonly stateListeners = new Set<(s: BusState) => void>();
  private readonly heldMessages: InvalidationMessage[] = [];
  private trimmed = false;
  private readonly recent: InvalidationMessage[] = [];
  readonly bus: InvalidationBus;

  constructor(
    inner: InvalidationBus,
    private readonly native: NativeLog | undefined,
  ) {
    const self = this;
    this.bus = {
      name: inner.name,
      get dropped() {
        return inner.dropped;
      },
      publish(m: InvalidationMessage) {
        if (self.cut) return Promise.reject(new Error("explorer: log unreachable"));
        if (self.slowAppends) {
          return new Promise<void>((resolve, reject) =>
            self.heldAppends.push(() => inner.publish(m).then(resolve, reject)),
          );
        }
        return inner.publish(m);
      },
      // The ordered publish obeys the same faults as a publish (its store writes travel on
      // the bus's connection, so a cut store does not stop them; a cut log does).
      ...(inner.keyspace !== undefined && inner.publishAfter !== undefined
        ? {
            keyspace: inner.keyspace,
            publishAfter(writes: readonly StoreWrite[], m: InvalidationMessage) {
              const run = () => {
                self.orderedPublishes++;
                return (inner.publishAfter as NonNullable<typeof inner.publishAfter>)(writes, m);
              };
              if (self.cut) return Promise.reject(new Error("explorer: log unreachable"));
              if (self.slowAppends) {
                return new Promise<void>((resolve, reject) =>
                  self.heldAppends.push(() => run().then(resolve, reject)),
                );
              }
              return run();
            },
          }
        : {}),
      subscribe(h: BusHandlers): Promise<Unsubscribe> {
        self.handlers = h;
        return inner.subscribe({
          message: (m) => {
            if (self.holding()) self.heldMessages.push(m);
            else self.deliver(m);
          },
          reset: () => {
            if (self.holding()) {
              self.heldMessages.length = 0;
              self.trimmed = true;
            } else h.reset();
          },
          caughtUp: (at) => {
            if (self.holding()) return;
            self.confirmations++;
            h.caughtUp(at);
          },
        });
      },
      onState(listener: (s: BusState) => void): Unsubscribe {
        self.stateListeners.add(listener);
        const off = inner.onState((s) => {
          if (!self.cut) listener(s);
        });
        return () => {
          self.stateListeners.delete(listener);
          off();
        };
      },
      close: () => inner.close(),
    };
  }

  /** Whether deliveries are held by this wrapper (rather than by the native log). */
  private holding(): boolean {
    return this.cut || (this.deaf && this.native === undefined);
  }

  private deliver(m: InvalidationMessage): void {
    this.recent.push(m);
    if (this.recent.length > 3) this.recent.shift();
    this.handlers?.message(m);
  }

  private release(): void {
    if (this.holding()) return;
    if (this.trimmed) {
      this.trimmed = false;
      this.heldMessages.length = 0;
      this.handlers?.reset();
    }
    for (const m of this.heldMessages.splice(0)) this.deliver(m);
  }

  setDeaf(deaf: boolean): void {
    this.deaf = deaf;
    if (this.native !== undefined && !this.cut) this.native.setDeaf(deaf);
    if (!deaf) this.release();
  }

  setCut(cut: boolean): void {
    if (cut === this.cut) return;
    this.cut = cut;
    if (cut) {
      for (const l of this.stateListeners) l("down");
      this.native?.setDeaf(true);
    } else {
      for (const l of this.stateListeners) l("up");
      this.release();
      if (this.native !== undefined && !this.deaf) this.native.setDeaf(false);
    }
  }

  /** Entries this follower holds but has not received are trimmed from the log (the memory
   *  log trims itself: see NativeLog.trim). */
  trimPast(keep: number): void {
    if (this.heldMessages.length > keep) {
      this.heldMessages.length = 0;
      this.trimmed = true;
    }
  }

  /** Delivers the last `n` entries again (at-least-once delivery). */
  duplicate(n: number): void {
    if (this.cut || this.deaf) return;
    for (const m of this.recent.slice(-n)) this.handlers?.message(m);
  }

  /** Appends held while `slowAppends` reach the log now, in order. */
  releaseAppends(): void {
    this.slowAppends = false;
    for (const append of this.heldAppends.splice(0)) append();
  }

  /** Neither cut nor deaf. */
  get hearing(): boolean {
    return !this.cut && !this.deaf;
  }

  /** Wakes a hearing follower's pending read (on the memory log, a read waiting for an
   *  append returns, and the follower confirms as of when it sent that read). */
  wake(): void {
    if (this.hearing) this.native?.setDeaf(false);
  }

  /** A log-wide fault this follower sees as a gap: what it holds is lost, it resets. */
  lose(all: boolean): void {
    if (this.native !== undefined) return;
    if (all || this.heldMessages.length > 0) {
      this.heldMessages.length = 0;
      this.trimmed = true;
      this.release();
    }
  }
}
