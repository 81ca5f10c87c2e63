import {
  type BusHandlers,
  type BusState,
  decodeMessage,
  encodeMessage,
  type InvalidationBus,
  type InvalidationMessage,
} from "@authcache/core";
import type { GlideString } from "@valkey/valkey-glide";
import {
  ClientHandle,
  PKG,
  type ValkeyClient,
  type ValkeyConnectionOptions,
} from "./connection.ts";
import { InFlightLimiter } from "./limiter.ts";
import { script } from "./scripts.ts";

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
  /** The Stream key (default "authcache:bus"). Every instance of a fleet uses the same one. */
  readonly stream?: string;
  /** Approximate cap of the Stream (`XADD MAXLEN ~`), default 10 000. A follower that falls
   *  further behind than this is reset. */
  readonly maxLength?: number;
  /** A healthy follower confirms at least this often (default 250 ms; keep it below the
   *  cache's maxStaleMs). */
  readonly confirmIntervalMs?: number;
  /** How long one blocking read waits (default 60% of confirmIntervalMs; must be below it). */
  readonly blockMs?: number;
  /** Entries per read (default 500). */
  readonly batchSize?: number;
  /** CLIENT SETNAME of the follower connections the bus opens (default "authcache-bus"),
   *  suffixed with a unique id; `followerNames` lists them. */
  readonly followerName?: string;
  /** `InvalidationBus.name`; default "valkey". */
  readonly name?: string;
  /** Told about failed reads and handlers that threw. */
  readonly logger?: BusLogger;
}

/** An InvalidationBus on a Valkey/Redis Stream, with operator and test hooks. */
export interface ValkeyBus extends InvalidationBus {
  /** CLIENT SETNAME of each follower connection currently open (find them in CLIENT LIST). */
  readonly followerNames: readonly string[];
  /** While deaf, followers neither deliver nor confirm (entries wait in the Stream); when it
   *  hears again they deliver what they missed in order, or reset if it was trimmed away. */
  setDeaf(deaf: boolean): void;
  /** The publishing client (opened on first need when the bus was given addresses). */
  getClient(): Promise<ValkeyClient>;
}

const FIELD = "m";

interface Position {
  /** Last entry id applied ("0-0": before the first entry). */
  id: string;
  /** How many entries the log had added up to and including `id` (its entries-added). */
  n: number;
  /** run_id of the server process holding the Stream when last checked. */
  runId: string;
}

type StreamReply = { key: GlideString; value: Record<string, [GlideString, GlideString][]> }[];

const text = (v: GlideString | undefined): string | undefined =>
  v === undefined ? undefined : typeof v === "string" ? v : v.toString();

/**
 * An InvalidationBus on a capped Stream. `publish` is one XADD (MAXLEN ~). Each subscription
 * follows with blocking XREADs on a connection of its own, starting from the log's end:
 * - an empty read that returns after `blockMs`, or a short one, confirms (`caughtUp`);
 * - before every read it checks where the log stands (one small script: entries added,
 *   length, server run_id): if entries it had not read were trimmed away, or the log is not
 *   the one it was following (server restarted without persistence, failover, stream
 *   deleted), it signals `reset()` and follows from the oldest entry left;
 * - a failed read reports "down" and retries with backoff; glide reconnects by itself and the
 *   follower resumes from the last id it applied, so a dropped connection loses nothing;
 * - entries that do not decode are dropped and counted in `dropped`.
 */
export function createValkeyBus(options: ValkeyBusOptions): ValkeyBus {
  const publisher = new ClientHandle(options, "createValkeyBus");
  const publishLimiter = new InFlightLimiter(100);
  const stream = options.stream ?? "authcache:bus";
  const maxLength = options.maxLength ?? 10_000;
  const confirmIntervalMs = options.confirmIntervalMs ?? 250;
  const blockMs = options.blockMs ?? Math.max(1, Math.floor(confirmIntervalMs * 0.6));
  const batchSize = options.batchSize ?? 500;
  const followerName = options.followerName ?? "authcache-bus";
  if (!(blockMs >= 1 && blockMs < confirmIntervalMs))
    throw new RangeError(
      `${PKG}: blockMs (${blockMs}) must be at least 1 and below confirmIntervalMs (${confirmIntervalMs})`,
    );
  if (!(Number.isInteger(maxLength) && maxLength > 0))
    throw new RangeError(`${PKG}: maxLength must be a positive integer, got ${maxLength}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new RangeError(`${PKG}: batchSize must be a positive integer, got ${batchSize}`);

  const listeners = new Set<(state: BusState) => void>();
  const followers = new Set<Follower>();
  let state: BusState = "down";
  let dropped = 0;
  let closed = false;
  let deaf = false;
  let hear: (() => void)[] = [];
  let followerClientInUse = false;

  const emitState = () => {
    const next: BusState = followers.size > 0 && [...followers].every((f) => f.up) ? "up" : "down";
    if (next === state) return;
    state = next;
    for (const l of [...listeners]) {
      try {
        l(next);
      } catch (err) {
        options.logger?.warn?.(`${PKG}: a state listener threw`, err);
      }
    }
  };

  const waitHearing = () => new Promise<void>((resolve) => hear.push(resolve));
  /** Releases every follower waiting on deafness (each re-checks and may wait again). */
  const wakeDeaf = () => {
    const waiting = hear;
    hear = [];
    for (const w of waiting) w();
  };

  class Follower {
    up = false;
    stopped = false;
    readonly name: string;
    readonly #handlers: BusHandlers;
    readonly #handle: ClientHandle;
    readonly #usesGiven: boolean;
    #pos: Position | undefined;
    #lastConfirm = 0;
    #resetOnAnchor = false;
    #wake: (() => void) | undefined;
    #done: Promise<void> = Promise.resolve();

    constructor(handlers: BusHandlers) {
      this.#handlers = handlers;
      this.name = `${followerName}-${Math.random().toString(36).slice(2, 10)}`;
      if (options.followerClient) {
        if (followerClientInUse)
          throw new Error(
            `${PKG}: followerClient already follows for another subscription; give addresses so each subscription opens its own`,
          );
        followerClientInUse = true;
        this.#usesGiven = true;
        this.#handle = new ClientHandle({ client: options.followerClient }, "follower");
      } else if (options.addresses && options.addresses.length > 0) {
        const { addresses, cluster = false, clientConfig } = options;
        this.#usesGiven = false;
        this.#handle = new ClientHandle(
          {
            addresses,
            cluster,
            clientConfig: { ...clientConfig, clientName: this.name },
          },
          "follower",
        );
      } else {
        throw new Error(
          `${PKG}: subscribe() needs a connection of its own for blocking reads: give the bus \`addresses\` or a \`followerClient\``,
        );
      }
    }

    /** Establishes the starting position (the log's end), then follows in the background.
     *  If the server is unreachable now, it still resolves and keeps trying. */
    async start(): Promise<void> {
      try {
        const client = await this.#handle.get();
        await this.#sync(client);
      } catch (err) {
        // Whatever is appended before the position is learnt goes unseen: the follower
        // resets once it has one, so the flush covers every entry it skipped.
        this.#resetOnAnchor = true;
        options.logger?.warn?.(`${PKG}: follower could not start yet; retrying`, err);
      }
      this.#done = this.#loop();
    }

    async stop(): Promise<void> {
      if (this.stopped) return;
      this.stopped = true;
      this.up = false;
      this.#wake?.();
      wakeDeaf();
      // Closing an opened client fails its in-flight blocking read at once; a given client's
      // read ends by itself within blockMs.
      await this.#handle.close();
      await this.#done;
      if (this.#usesGiven) followerClientInUse = false;
    }

    async #loop(): Promise<void> {
      let failures = 0;
      while (!this.stopped) {
        if (deaf) {
          await waitHearing();
          continue;
        }
        try {
          const client = await this.#handle.get();
          await this.#sync(client);
          if (this.stopped || deaf) continue;
          const pos = this.#pos as Position;
          const sentAt = Date.now();
          const reply = (await client.xread(
            { [stream]: pos.id },
            { block: blockMs, count: batchSize },
          )) as StreamReply | null;
          // A read that returns while deaf is discarded unapplied and read again later.
          if (this.stopped || deaf) continue;
          failures = 0;
          if (!this.up) {
            this.up = true;
            emitState();
          }
          const entries = reply?.[0] ? Object.entries(reply[0].value) : [];
          for (const [id, fields] of entries) {
            if (this.stopped) return;
            pos.id = id;
            pos.n += 1;
            this.#deliver(fields);
          }
          if (entries.length < batchSize && !this.stopped)
            this.#confirm(entries.length === 0 ? Date.now() : sentAt);
        } catch (err) {
          if (this.stopped) return;
          failures += 1;
          if (this.up) {
            this.up = false;
            emitState();
          }
          if (failures === 1) options.logger?.warn?.(`${PKG}: follower read failed`, err);
          await this.#sleep(Math.min(20 * 2 ** failures, 500));
        }
      }
    }

    /** Checks that the log is still the one being followed and not trimmed past the position;
     *  resets otherwise. */
    async #sync(client: ValkeyClient): Promise<void> {
      const r = (await client.invokeScript(script("streamPosition"), {
        keys: [stream],
      })) as [number, number, number, GlideString, GlideString];
      const exists = r[0] === 1;
      const added = Number(r[1]);
      const length = Number(r[2]);
      const last = text(r[3]) ?? "0-0";
      const runId = text(r[4]) ?? "";
      const pos = this.#pos;
      if (!pos) {
        this.#pos = exists ? { id: last, n: added, runId } : { id: "0-0", n: 0, runId };
        if (this.#resetOnAnchor && !this.stopped) this.#call(() => this.#handlers.reset());
        this.#resetOnAnchor = false;
        return;
      }
      const restarted = pos.runId !== "" && runId !== "" && pos.runId !== runId;
      const lost = exists
        ? restarted || added < pos.n || added - length > pos.n
        : restarted || pos.n > 0;
      if (lost) {
        this.#pos = { id: "0-0", n: exists ? added - length : 0, runId };
        if (!this.stopped) this.#call(() => this.#handlers.reset());
        return;
      }
      pos.runId = runId;
    }

    #deliver(fields: [GlideString, GlideString][]): void {
      let raw: string | undefined;
      for (const [f, v] of fields) if (text(f) === FIELD) raw = text(v);
      const message: InvalidationMessage | undefined = decodeMessage(raw);
      if (!message) {
        dropped += 1;
        return;
      }
      this.#call(() => this.#handlers.message(message));
    }

    #confirm(at: number): void {
      // Confirmations never go backwards, whatever the clock does.
      this.#lastConfirm = Math.max(this.#lastConfirm, at);
      const t = this.#lastConfirm;
      this.#call(() => this.#handlers.caughtUp(t));
    }

    #call(fn: () => void): void {
      try {
        fn();
      } catch (err) {
        options.logger?.warn?.(`${PKG}: a bus handler threw`, err);
      }
    }

    #sleep(ms: number): Promise<void> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = undefined;
          resolve();
        }, ms);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  const bus: ValkeyBus = {
    name: options.name ?? "valkey",

    get dropped() {
      return dropped;
    },

    get followerNames() {
      return [...followers].map((f) => f.name);
    },

    getClient: () => publisher.get(),

    async publish(message) {
      if (closed) throw new Error(`${PKG}: publish after close()`);
      const payload = encodeMessage(message);
      const client = await publisher.get();
      await publishLimiter.run(() =>
        client.xadd(stream, [[FIELD, payload]], {
          trim: { method: "maxlen", threshold: maxLength, exact: false },
        }),
      );
    },

    async subscribe(handlers) {
      if (closed) throw new Error(`${PKG}: subscribe after close()`);
      const follower = new Follower(handlers);
      followers.add(follower);
      emitState();
      await follower.start();
      let done = false;
      return () => {
        if (done) return;
        done = true;
        followers.delete(follower);
        void follower.stop();
        emitState();
      };
    },

    onState(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    setDeaf(value) {
      deaf = value;
      if (!value) wakeDeaf();
    },

    async close() {
      if (closed) return;
      closed = true;
      const all = [...followers];
      followers.clear();
      listeners.clear();
      bus.setDeaf(false);
      await Promise.all(all.map((f) => f.stop()));
      await publisher.close();
    },
  };
  publisher.warm();
  return bus;
}
