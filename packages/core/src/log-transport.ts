import type { InvalidationBus, StoreWrite } from "./contracts.ts";
import type { Logger } from "./logger.ts";

/**
 * One log follower for every backend. A bus is a `LogTransport` (append; read after a position;
 * the log's identity) handed to `createLogBus`, which owns everything a follower decides:
 * confirmation dating, up/down state, dropped-entry counting, reset on a new epoch or a gap,
 * handler errors and delivery order. A new backend implements only the transport.
 *
 * The log protocol every transport keeps:
 * - a log has an `epoch`, an opaque string that is new whenever the log is created, flushed,
 *   recreated or replaced (a failover that lost writes included);
 * - `append` gives each entry the next sequence number of its epoch, atomically with the write
 *   (1, 2, 3, ...: no number is skipped or reused within an epoch);
 * - a read returns the log's epoch and `head` (the newest sequence number appended, read no later
 *   than the entries), so a follower can tell "nothing new" from "something was lost".
 */

/** Where a follower stands in a log. */
export interface LogPosition {
  /** The identity of the log the position belongs to. */
  readonly epoch: string;
  /** Sequence number of the last entry applied (0: before the first entry). */
  readonly seq: number;
  /** The transport's own cursor for the next read (a Stream id), when it needs one. */
  readonly cursor?: string;
}

/** One entry as a transport read it. */
export interface LogEntry {
  /** Its sequence number; undefined when it carries none (not appended through the protocol):
   *  such an entry is dropped and counted, and does not move the sequence. */
  readonly seq: number | undefined;
  /** The epoch it was appended in, when the transport stores it per entry (else the read's). */
  readonly epoch?: string;
  /** The transport's cursor just past this entry. */
  readonly cursor?: string;
  /** The payload as stored (decoded with `decodeMessage`; anything else is dropped). */
  readonly data: unknown;
}

/** What one read returns. */
export interface LogRead {
  /** The log's epoch when the read was served; undefined when the log no longer exists. */
  readonly epoch: string | undefined;
  /** The newest sequence number the log had appended, read before (or with) the entries. */
  readonly head: number;
  /** The entries after the position, oldest first, at most the requested limit. */
  readonly entries: readonly LogEntry[];
}

/** One follower's access to the log (its own connection where reads block). */
export interface LogReader {
  /** Returns the log's current end, creating the log's identity if it has none yet: where a
   *  follower starts. */
  end(): Promise<LogPosition>;
  /** Returns the entries after `after` (at most `limit`). A blocking transport waits up to its
   *  `blockMs` for one when there are none; a polled one returns at once. */
  read(after: LogPosition, limit: number): Promise<LogRead>;
  /** Releases the reader (and fails a read in flight, where the transport can). */
  close(): Promise<void> | void;
}

/** What a bus implements: the log, without any follower logic. */
export interface LogTransport {
  /** `InvalidationBus.name` ("memory", "redis", "valkey", "libsql"). */
  readonly name: string;
  /** How long one read may wait for entries, in ms (0: the transport is polled). */
  readonly blockMs: number;
  /** For a polled transport, the wait between reads that reached the end, in ms. */
  readonly pollIntervalMs?: number;
  /** Appends one entry with the next sequence number of the log's epoch (creating the epoch if
   *  the log has none); resolves once the log has it. */
  append(data: string): Promise<void>;
  /** Optional: `append`, after making `writes` in the store of the same `keyspace`, in one
   *  atomic step (the bus's `publishAfter`; see `InvalidationBus.publishAfter` for the promise
   *  it makes). Never appends unless every write was made. */
  appendAfter?(writes: readonly StoreWrite[], data: string): Promise<void>;
  /** With `appendAfter`: where the keys it writes live (`Store.keyspace`). */
  readonly keyspace?: string;
  /** Opens a reader for one subscription. */
  openReader(): LogReader | Promise<LogReader>;
  /** Releases what the transport opened (never a client it was given). Idempotent. */
  close(): Promise<void>;
}

/** Options of `createLogBus`. */
export interface LogBusOptions {
  /** Entries asked for per read (default 500). A full batch reads again at once. */
  readonly batchSize?: number;
  /** How late a reply may be, beyond `blockMs`, before the reader is taken for dead, closed and
   *  reopened (default 1000 ms). */
  readonly replyTimeoutMs?: number;
  /** The clock confirmations are dated with (default `Date.now`). */
  readonly now?: () => number;
  /** Told about failed reads and handlers that threw (default: silent). */
  readonly logger?: Pick<Logger, "warn">;
  /** Prefixes error messages ("@authcache/adapter-redis"). */
  readonly errorPrefix?: string;
}

/** An `InvalidationBus` over a transport. */
export interface LogBus extends InvalidationBus {
  /** The transport underneath (for adapters that expose their client through it). */
  readonly transport: LogTransport;
}
