/** One entry: its sequence number in the log's epoch and the raw string as appended. */
export interface LogItem {
  readonly seq: number;
  readonly raw: string;
}

const newEpoch = (): string =>
  `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * The shared log: entries with contiguous sequence numbers (1, 2, ...) in an epoch. Trimming
 * drops the oldest; `remove` and `recreate` exist for tests of gaps and lost logs.
 */
export class MemoryLog {
  private items: LogItem[] = [];
  /** Index in `items` of the oldest entry held (dropping from the front is O(1)). */
  private first = 0;
  private last = 0;
  private id = newEpoch();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly maxLength: number) {}

  /** The log's identity: new when it is recreated. */
  get epoch(): string {
    return this.id;
  }

  /** The newest sequence number appended in this epoch (0: none). */
  get head(): number {
    return this.last;
  }

  get length(): number {
    return this.items.length - this.first;
  }

  append(raw: string): number {
    this.last += 1;
    this.items.push({ seq: this.last, raw });
    if (this.length > this.maxLength) this.trim(this.maxLength);
    for (const notify of [...this.listeners]) notify();
    return this.last;
  }

  /** The entries after `seq`, oldest first, at most `limit`. */
  after(seq: number, limit: number): LogItem[] {
    let lo = this.first;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid] as LogItem).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.items.slice(lo, lo + limit);
  }

  /** Keeps only the newest `keep` entries. */
  trim(keep: number): void {
    const drop = Math.max(0, this.length - Math.max(0, Math.floor(keep)));
    if (drop === 0) return;
    this.first += drop;
    // Compact once the dropped prefix dominates, so memory follows the live length.
    if (this.first > 1024 && this.first * 2 > this.items.length) {
      this.items = this.items.slice(this.first);
      this.first = 0;
    }
  }

  /** Deletes the entry `fromEnd` places before the newest (0: the newest), as XDEL would. */
  remove(fromEnd: number): void {
    const index = this.items.length - 1 - fromEnd;
    if (index >= this.first) this.items.splice(index, 1);
  }

  /** Replaces the log with an empty one under a new epoch (a flushed or recreated log). */
  recreate(): void {
    this.items = [];
    this.first = 0;
    this.last = 0;
    this.id = newEpoch();
  }

  /** Calls `notify` after every append. Returns a function that stops it. */
  onAppend(notify: () => void): () => void {
    this.listeners.add(notify);
    return () => this.listeners.delete(notify);
  }
}
