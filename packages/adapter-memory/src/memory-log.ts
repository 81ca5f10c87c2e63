import { decodeMessage, type InvalidationMessage } from "@authcache/core";

/** One entry: the raw string as appended, decoded once (undefined when malformed). */
export interface LogEntry {
  readonly raw: string;
  readonly message: InvalidationMessage | undefined;
}

/**
 * The shared log: an array with absolute positions. Position `start` is the oldest entry still
 * held, `end` the position the next append gets. Trimming moves `start`; positions never reuse.
 */
export class MemoryLog {
  private items: LogEntry[] = [];
  /** Index in `items` of the entry at position `start` (dropping from the front is O(1)). */
  private head = 0;
  private first = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly maxLength: number) {}

  /** Position of the oldest entry held. */
  get start(): number {
    return this.first;
  }

  /** Position the next append will get. */
  get end(): number {
    return this.first + this.items.length - this.head;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** The entry at `position`, or undefined when trimmed away or not yet written. */
  at(position: number): LogEntry | undefined {
    if (position < this.first || position >= this.end) return undefined;
    return this.items[this.head + position - this.first];
  }

  append(raw: string): number {
    const position = this.end;
    this.items.push({ raw, message: decodeMessage(raw) });
    if (this.length > this.maxLength) this.trim(this.maxLength);
    for (const notify of this.listeners) notify();
    return position;
  }

  /** Keeps only the newest `keep` entries. */
  trim(keep: number): void {
    const drop = Math.max(0, this.length - Math.max(0, Math.floor(keep)));
    if (drop === 0) return;
    this.head += drop;
    this.first += drop;
    // Compact once the dropped prefix dominates, so memory follows the live length.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Calls `notify` after every append. Returns a function that stops it. */
  onAppend(notify: () => void): () => void {
    this.listeners.add(notify);
    return () => this.listeners.delete(notify);
  }
}
