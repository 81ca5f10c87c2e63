import { FrequencySketch } from "./frequency-sketch.ts";

/** Options of an {@link L1Cache}. */
export interface L1CacheOptions {
  /** Hard bound on the number of live entries (a positive integer). */
  readonly maxEntries: number;
}

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;
type Segment = typeof WINDOW | typeof PROBATION | typeof PROTECTED;

interface Node<V> {
  readonly key: string;
  value: V;
  expiresAt: number;
  readonly hash: number;
  segment: Segment;
  prev: Node<V> | undefined;
  next: Node<V> | undefined;
  owners: readonly string[] | undefined;
}

/** A doubly linked list ordered from most (head) to least (tail) recently used. */
class Queue<V> {
  head: Node<V> | undefined;
  tail: Node<V> | undefined;
  length = 0;

  pushHead(node: Node<V>): void {
    node.prev = undefined;
    node.next = this.head;
    if (this.head) this.head.prev = node;
    else this.tail = node;
    this.head = node;
    this.length++;
  }

  remove(node: Node<V>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.length--;
  }

  moveToHead(node: Node<V>): void {
    if (this.head === node) return;
    this.remove(node);
    this.pushHead(node);
  }

  clear(): void {
    this.head = undefined;
    this.tail = undefined;
    this.length = 0;
  }
}

/**
 * The bounded in-process tier: W-TinyLFU. New entries enter a small LRU window (1 %); an entry
 * leaving the window is admitted to the main segmented LRU only if the frequency sketch says it
 * is more popular than the main tier's victim. A flood of one-hit keys therefore churns the
 * window and never displaces the hot set. Each entry has its own deadline: an expired entry is
 * removed when touched, and `set` sweeps a few entries per call so expired ones cannot pile up.
 * Entries may carry owner tags (`deleteOwner` drops them all without scanning).
 */
export class L1Cache<V> {
  readonly maxEntries: number;
  private readonly map = new Map<string, Node<V>>();
  private readonly window = new Queue<V>();
  private readonly probation = new Queue<V>();
  private readonly protectedQ = new Queue<V>();
  private readonly windowMax: number;
  private readonly protectedMax: number;
  private readonly sketch: FrequencySketch;
  private readonly ownerIndex = new Map<string, Set<Node<V>>>();
  private sweepCursor: Iterator<Node<V>> | undefined;
  private evicted = 0;
  private expiredCount = 0;

  constructor(options: L1CacheOptions) {
    const max = options?.maxEntries;
    if (typeof max !== "number" || !Number.isSafeInteger(max) || max <= 0) {
      throw new RangeError(
        `@authcache/core: L1Cache maxEntries must be a positive integer, got ${String(max)}`,
      );
    }
    this.maxEntries = max;
    this.windowMax = Math.max(1, Math.floor(max * 0.01));
    this.protectedMax = Math.floor((max - this.windowMax) * 0.8);
    this.sketch = new FrequencySketch(max);
  }

  /** Number of entries held (expired ones not yet swept included; never above maxEntries). */
  get size(): number {
    return this.map.size;
  }

  /** Entries dropped to make room (capacity evictions and admission rejections). */
  get evictions(): number {
    return this.evicted;
  }

  /** Entries removed because their deadline passed. */
  get expirations(): number {
    return this.expiredCount;
  }

  /** Returns the live value for `key`, or undefined (an expired entry is removed). */
  get(key: string, now: number): V | undefined {
    const node = this.map.get(key);
    if (node === undefined) {
      this.sketch.increment(this.sketch.hash(key));
      return undefined;
    }
    if (node.expiresAt <= now) {
      this.expiredCount++;
      this.unlink(node);
      return undefined;
    }
    this.sketch.increment(node.hash);
    this.touch(node);
    return node.value;
  }

  /** Returns the live value without recording an access (no admission or recency effect). */
  peek(key: string, now: number): V | undefined {
    const node = this.map.get(key);
    return node !== undefined && node.expiresAt > now ? node.value : undefined;
  }

  /** Stores `value` until `expiresAt` (epoch ms). A deadline not after `now` stores nothing
   *  and drops any previous value. `owners` tags the entry for {@link deleteOwner}. */
  set(key: string, value: V, expiresAt: number, now: number, owners?: readonly string[]): void {
    const existing = this.map.get(key);
    if (!(expiresAt > now)) {
      if (existing) this.unlink(existing);
      return;
    }
    if (existing) {
      existing.value = value;
      existing.expiresAt = expiresAt;
      this.setOwners(existing, owners);
      this.touch(existing);
    } else {
      const hash = this.sketch.hash(key);
      const node: Node<V> = {
        key,
        value,
        expiresAt,
        hash,
        segment: WINDOW,
        prev: undefined,
        next: undefined,
        owners: undefined,
      };
      this.map.set(key, node);
      this.window.pushHead(node);
      this.setOwners(node, owners);
      this.sketch.increment(hash);
      if (this.window.length > this.windowMax) this.evictFromWindow(now);
    }
    this.sweep(now, 2);
  }

  /** Removes `key`. Returns true if an entry was removed. */
  delete(key: string): boolean {
    const node = this.map.get(key);
    if (node === undefined) return false;
    this.unlink(node);
    return true;
  }

  /** Removes every entry tagged with `owner`. Returns how many were removed. */
  deleteOwner(owner: string): number {
    const nodes = this.ownerIndex.get(owner);
    if (nodes === undefined) return 0;
    let n = 0;
    for (const node of [...nodes]) {
      this.unlink(node);
      n++;
    }
    this.ownerIndex.delete(owner);
    return n;
  }

  /** Removes every entry. */
  clear(): void {
    this.map.clear();
    this.window.clear();
    this.probation.clear();
    this.protectedQ.clear();
    this.ownerIndex.clear();
    this.sweepCursor = undefined;
  }

  /** Examines up to `budget` entries from where the last sweep stopped and removes the
   *  expired ones. Returns how many were removed. */
  sweep(now: number, budget: number): number {
    let removed = 0;
    let wrapped = false;
    for (let i = 0; i < budget; i++) {
      if (this.sweepCursor === undefined) this.sweepCursor = this.map.values();
      const step = this.sweepCursor.next();
      if (step.done) {
        this.sweepCursor = undefined;
        if (wrapped || this.map.size === 0) break;
        wrapped = true;
        i--;
        continue;
      }
      const node = step.value;
      if (node.expiresAt <= now && this.map.get(node.key) === node) {
        this.expiredCount++;
        this.unlink(node);
        removed++;
      }
    }
    return removed;
  }

  private touch(node: Node<V>): void {
    switch (node.segment) {
      case WINDOW:
        this.window.moveToHead(node);
        return;
      case PROBATION:
        this.probation.remove(node);
        node.segment = PROTECTED;
        this.protectedQ.pushHead(node);
        if (this.protectedQ.length > this.protectedMax) {
          const demoted = this.protectedQ.tail;
          if (demoted !== undefined) {
            this.protectedQ.remove(demoted);
            demoted.segment = PROBATION;
            this.probation.pushHead(demoted);
          }
        }
        return;
      default:
        this.protectedQ.moveToHead(node);
    }
  }

  /** The window overflowed: its LRU entry competes with the main tier's victim. */
  private evictFromWindow(now: number): void {
    const candidate = this.window.tail;
    if (candidate === undefined) return;
    this.window.remove(candidate);
    candidate.segment = PROBATION;
    this.probation.pushHead(candidate);
    if (this.map.size <= this.maxEntries) return;
    const victim = this.probation.tail !== candidate ? this.probation.tail : this.protectedQ.tail;
    if (victim === undefined || victim === candidate) {
      this.evict(candidate);
      return;
    }
    if (victim.expiresAt <= now) {
      this.expiredCount++;
      this.unlink(victim);
      return;
    }
    if (candidate.expiresAt <= now) {
      this.expiredCount++;
      this.unlink(candidate);
      return;
    }
    // Ties go to the incumbent: a burst of new keys must prove itself to get in.
    if (this.sketch.frequency(candidate.hash) > this.sketch.frequency(victim.hash)) {
      this.evict(victim);
    } else {
      this.evict(candidate);
    }
  }

  private evict(node: Node<V>): void {
    this.evicted++;
    this.unlink(node);
  }

  private unlink(node: Node<V>): void {
    if (this.map.get(node.key) !== node) return;
    this.map.delete(node.key);
    if (node.segment === WINDOW) this.window.remove(node);
    else if (node.segment === PROBATION) this.probation.remove(node);
    else this.protectedQ.remove(node);
    this.setOwners(node, undefined);
  }

  private setOwners(node: Node<V>, owners: readonly string[] | undefined): void {
    if (node.owners !== undefined) {
      for (const owner of node.owners) {
        const set = this.ownerIndex.get(owner);
        if (set === undefined) continue;
        set.delete(node);
        if (set.size === 0) this.ownerIndex.delete(owner);
      }
    }
    node.owners = owners !== undefined && owners.length > 0 ? owners : undefined;
    if (node.owners === undefined) return;
    for (const owner of node.owners) {
      let set = this.ownerIndex.get(owner);
      if (set === undefined) {
        set = new Set();
        this.ownerIndex.set(owner, set);
      }
      set.add(node);
    }
  }
}
