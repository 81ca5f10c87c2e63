import type { Plan } from "./kind.ts";
import type { Ticket } from "./tiers.ts";

/**
 * The get misses of the last {@link MISS_WINDOW_MS}, per entry, for the `set*` that usually
 * follows a `get*` miss (the get-then-set pattern). A set does not say which miss it follows,
 * so a miss is never consumed by a set: it is kept until it ages out, and a set is refused while
 * any miss of its entry still kept was followed by an invalidation touching the entry (applied
 * here, locally or from the bus). Staleness is monotone in time (an invalidation after a miss
 * is after every earlier miss too), so per entry it is enough to keep the last miss that an
 * invalidation followed, and the fences read by the oldest miss since.
 *
 * Bounded: beyond {@link MISS_RECORDS_MAX} entries the least recently missed is dropped into
 * {@link DroppedMisses}, a hashed filter that answers conservatively for it.
 */

/** How long a get miss is kept for the set that follows it. */
export const MISS_WINDOW_MS = 30_000;
/** Entries whose misses are kept one by one; beyond, the least recently missed is dropped. */
export const MISS_RECORDS_MAX = 1_024;
/** Cells per generation of the dropped-miss filter. */
const DROPPED_CELLS = 4_096;

/** The fences a set may be written under: the oldest miss since the last invalidation
 *  touching the entry (element-wise minimum over those misses: counters only grow). */
export interface Fences {
  fence: number;
  g: number;
  tg: number | undefined;
  /** False when any of those misses could not read L2 (or never tried: the sync pair). */
  readOk: boolean;
}

interface MissRecord {
  /** What invalidations are matched against (kind, email, teamId, jti). */
  readonly plan: Plan<unknown>;
  /** The latest miss of the entry (either kind below); the record ages out after it. */
  lastMissAt: number;
  /** The latest miss that an applied invalidation touching the entry followed. */
  staleMissAt: number;
  /** Misses since the last such invalidation: their fences; undefined when there are none. */
  live: Fences | undefined;
}

/** How a set of one entry may be cached. */
export type SetRule =
  /** An invalidation followed a miss of this entry still kept: refuse. */
  | { readonly verdict: "stale" }
  /** The entry's misses may have been dropped, and an invalidation was applied since: refuse. */
  | { readonly verdict: "untracked" }
  /** Cache it: under `fences` when a miss is kept (undefined: no miss known, read them now);
   *  `l1Only` when a dropped miss's fences are unknown (L2 is not written). */
  | { readonly verdict: "accept"; readonly fences: Fences | undefined; readonly l1Only: boolean };

const STALE: SetRule = { verdict: "stale" };
const UNTRACKED: SetRule = { verdict: "untracked" };
const FREE: SetRule = { verdict: "accept", fences: undefined, l1Only: false };
const L1_ONLY: SetRule = { verdict: "accept", fences: undefined, l1Only: true };

export class MissRecords {
  /** Bumped by every applied invalidation (a flush included). */
  seq = 0;
  /** Records dropped because the bound was reached (while they still held a live miss). */
  dropped = 0;
  /** In last-miss order (a miss re-inserts its record), so the oldest is first. */
  private readonly records = new Map<string, MissRecord>();
  private readonly filter = new DroppedMisses();

  get size(): number {
    return this.records.size;
  }

  /** Keeps the miss whose lookup `ticket` tracked (its fences and whether an invalidation
   *  overlapped it). */
  add(ticket: Ticket, now: number): void {
    const key = ticket.plan.key;
    const at = ticket.createdAt;
    let r = this.records.get(key);
    if (r !== undefined) {
      this.records.delete(key);
      if (now - r.lastMissAt > MISS_WINDOW_MS) r = undefined;
    }
    if (r === undefined) {
      r = {
        plan: ticket.plan,
        lastMissAt: at,
        staleMissAt: Number.NEGATIVE_INFINITY,
        live: undefined,
      };
    }
    if (at > r.lastMissAt) r.lastMissAt = at;
    if (ticket.stale) {
      if (at > r.staleMissAt) r.staleMissAt = at;
    } else if (r.live === undefined) {
      r.live = { fence: ticket.fence, g: ticket.g, tg: ticket.tg, readOk: ticket.readOk };
    } else {
      const f = r.live;
      if (ticket.fence < f.fence) f.fence = ticket.fence;
      if (ticket.g < f.g) f.g = ticket.g;
      if (ticket.tg !== undefined && (f.tg === undefined || ticket.tg < f.tg)) f.tg = ticket.tg;
      if (!ticket.readOk) f.readOk = false;
    }
    this.records.set(key, r);
    if (this.records.size > MISS_RECORDS_MAX) {
      const oldest = this.records.entries().next();
      if (!oldest.done) this.drop(oldest.value[0], oldest.value[1], now);
    }
  }

  /** An invalidation matching `match` was applied here: every kept miss of a matching entry is
   *  now one that an invalidation followed. */
  markStale(match: (t: { readonly plan: Plan<unknown> }) => boolean): void {
    this.seq++;
    for (const r of this.records.values()) {
      if (r.live !== undefined && match(r)) {
        r.staleMissAt = r.lastMissAt;
        r.live = undefined;
      }
    }
  }

  /** L2 refused a set under the kept fences (the fence moved: an invalidation we have not
   *  heard of yet): treat the entry's kept misses as followed by an invalidation. */
  fenceMoved(key: string): void {
    const r = this.records.get(key);
    if (r?.live !== undefined) {
      r.staleMissAt = r.lastMissAt;
      r.live = undefined;
    }
  }

  /** How a set of `key` at `now` may be cached. */
  rule(key: string, now: number): SetRule {
    const r = this.records.get(key);
    let live: Fences | undefined;
    if (r !== undefined && now - r.lastMissAt <= MISS_WINDOW_MS) {
      if (now - r.staleMissAt <= MISS_WINDOW_MS) return STALE;
      live = r.live;
    }
    const droppedAt = this.filter.lookup(key, now);
    if (droppedAt !== undefined) {
      if (droppedAt < this.seq) return UNTRACKED;
      return live === undefined ? L1_ONLY : { verdict: "accept", fences: live, l1Only: true };
    }
    return live === undefined ? FREE : { verdict: "accept", fences: live, l1Only: false };
  }

  /** Drops records whose last miss aged out, from the oldest, up to `budget` of them. */
  sweep(now: number, budget: number): void {
    let n = 0;
    for (const [key, r] of this.records) {
      if (n++ >= budget || now - r.lastMissAt <= MISS_WINDOW_MS) break;
      this.records.delete(key);
    }
  }

  clear(): void {
    this.records.clear();
    this.filter.clear();
  }

  private drop(key: string, r: MissRecord, now: number): void {
    this.records.delete(key);
    if (now - r.lastMissAt > MISS_WINDOW_MS) return;
    this.dropped++;
    // Up to now the record knew exactly which invalidations followed its misses; from now on
    // any invalidation at all (seq moving past this one) may have. Known stale: -1, always.
    const seq = now - r.staleMissAt <= MISS_WINDOW_MS ? -1 : this.seq;
    this.filter.add(key, seq, r.lastMissAt + MISS_WINDOW_MS, now);
  }
}

interface Generation {
  readonly startedAt: number;
  /** Per cell: the smallest invalidation sequence a dropped record of the cell was dropped at. */
  readonly seqs: Float64Array;
  /** Per cell: until when a dropped record of the cell may still have a kept miss. */
  readonly until: Float64Array;
}

/**
 * The entries whose misses were dropped while still in the window, hashed into cells (a key
 * may share a cell with others: the answer errs on the side of refusing). Two generations of
 * {@link MISS_WINDOW_MS} each, so a cell that keeps being hit still forgets within two windows.
 * Allocated on the first drop.
 */
class DroppedMisses {
  private current: Generation | undefined;
  private previous: Generation | undefined;

  add(key: string, seq: number, until: number, now: number): void {
    this.roll(now);
    let g = this.current;
    if (g === undefined) {
      g = {
        startedAt: now,
        seqs: new Float64Array(DROPPED_CELLS),
        until: new Float64Array(DROPPED_CELLS),
      };
      this.current = g;
    }
    const i = cell(key);
    if (!((g.until[i] ?? 0) >= now) || seq < (g.seqs[i] ?? 0)) g.seqs[i] = seq;
    if (until > (g.until[i] ?? 0)) g.until[i] = until;
  }

  /** The smallest sequence a record that `key` may be was dropped at, if one may still have a
   *  kept miss; undefined when no such record. */
  lookup(key: string, now: number): number | undefined {
    if (this.current === undefined && this.previous === undefined) return undefined;
    this.roll(now);
    const i = cell(key);
    let seq: number | undefined;
    for (const g of [this.current, this.previous]) {
      if (g === undefined || !((g.until[i] ?? 0) >= now)) continue;
      const s = g.seqs[i] ?? -1;
      if (seq === undefined || s < seq) seq = s;
    }
    return seq;
  }

  clear(): void {
    this.current = undefined;
    this.previous = undefined;
  }

  private roll(now: number): void {
    const c = this.current;
    if (c !== undefined && now - c.startedAt >= MISS_WINDOW_MS) {
      this.previous = now - c.startedAt >= 2 * MISS_WINDOW_MS ? undefined : c;
      this.current = undefined;
    }
    const p = this.previous;
    if (p !== undefined && now - p.startedAt >= 2 * MISS_WINDOW_MS) this.previous = undefined;
  }
}

/** FNV-1a of the key's UTF-16 code units, reduced to a cell. */
function cell(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % DROPPED_CELLS;
}
