/**
 * A count-min sketch of 4-bit-style counters (capped at 15) that halves itself periodically,
 * so it estimates recent popularity in a few bytes per entry. The hash is seeded per instance
 * at random: a caller cannot precompute keys that collide with the popular ones.
 */
const ROW_MULTIPLIERS = [0x9e3779b1, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f];

export class FrequencySketch {
  private readonly table: Uint8Array;
  private readonly mask: number;
  private readonly sampleSize: number;
  private additions = 0;
  readonly seed: number;

  constructor(capacity: number) {
    let width = 16;
    while (width < capacity) width *= 2;
    this.table = new Uint8Array(width * 4);
    this.mask = width - 1;
    this.sampleSize = Math.max(10 * capacity, 160);
    this.seed = (Math.random() * 0x7fffffff) | 1;
  }

  /** FNV-1a over UTF-16 code units, seeded; returns a 32-bit integer. */
  hash(key: string): number {
    let h = 0x811c9dc5 ^ this.seed;
    for (let i = 0; i < key.length; i++) {
      h ^= key.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return h >>> 0;
  }

  /** Returns the estimated recent frequency of the item with this hash (0..15). */
  frequency(hash: number): number {
    const t = this.table;
    let f = t[this.index(hash, 0)] ?? 0;
    for (let row = 1; row < 4; row++) {
      const c = t[this.index(hash, row)] ?? 0;
      if (c < f) f = c;
    }
    return f;
  }

  /** Records one access of the item with this hash. */
  increment(hash: number): void {
    const t = this.table;
    const f = this.frequency(hash);
    if (f >= 15) return;
    // Conservative update: only the counters at the minimum grow, which keeps estimates tight.
    for (let row = 0; row < 4; row++) {
      const i = this.index(hash, row);
      if (t[i] === f) t[i] = f + 1;
    }
    if (++this.additions >= this.sampleSize) this.halve();
  }

  private index(hash: number, row: number): number {
    const x = Math.imul(hash, ROW_MULTIPLIERS[row] ?? 1);
    return row * (this.mask + 1) + ((x ^ (x >>> 15)) & this.mask);
  }

  private halve(): void {
    const t = this.table;
    for (let i = 0; i < t.length; i++) t[i] = (t[i] ?? 0) >>> 1;
    this.additions = this.additions >>> 1;
  }
}
