/**
 * Ground truth for staleness checks. The database side records every write (entity, new value,
 * when) and every invalidation (which entities, when it started, when it resolved); the cache
 * side records every read (value seen, when the read started and ended). `checkStaleness`
 * then counts the reads that returned a value whose replacement had been invalidated more than
 * `maxStaleMs` before the read started: the bound the cache promises.
 *
 * The rule, for entity e with versions v1, v2, ... written at W1 < W2 < ...: version vi stops
 * being servable at D(vi) = min{ R(j) : invalidation j covers e, started at or after W(i+1),
 * resolved at R(j) } + maxStaleMs. An invalidation that started before the write it follows
 * cannot clear that write's predecessor, so it does not count. A read started at T that returned
 * v is fine if some version equal to v, written before the read ended, has D >= T.
 */

/** A stable string for any JSON-like value: object keys sorted, `undefined` fields dropped. */
export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? "undefined";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export interface VersionRecord {
  readonly entity: string;
  /** canonical(value) */
  readonly value: string;
  readonly writtenAt: number;
}

export interface InvalidationRecord {
  readonly entities: readonly string[];
  readonly startedAt: number;
  /** undefined while pending (or if it never succeeded). */
  resolvedAt: number | undefined;
  /** Attempts it took (a rejected invalidation is retried until it resolves). */
  attempts: number;
}

export interface ReadRecord {
  readonly entity: string;
  /** canonical(value), or undefined for a miss / "unknown" answer (never stale). */
  readonly value: string | undefined;
  readonly startedAt: number;
  readonly endedAt: number;
  /** Which cache instance answered (for the report). */
  readonly instance: string;
}

export interface History {
  readonly versions: readonly VersionRecord[];
  readonly invalidations: readonly InvalidationRecord[];
  readonly reads: readonly ReadRecord[];
}

export interface PendingInvalidation {
  /** Marks one failed attempt (the caller retries). */
  failed(): void;
  /** Marks the invalidation resolved now (or at `at`). */
  resolved(at?: number): void;
}

/** Collects a history as a scenario runs. Times come from `clock` unless given explicitly. */
export class GroundTruth {
  readonly #versions: VersionRecord[] = [];
  readonly #invalidations: InvalidationRecord[] = [];
  readonly #reads: ReadRecord[] = [];
  readonly #current = new Map<string, string>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** The database now holds `value` for `entity` (call it right after the database write). */
  write(entity: string, value: unknown, at: number = this.#clock()): void {
    const v = canonical(value);
    this.#versions.push({ entity, value: v, writtenAt: at });
    this.#current.set(entity, v);
  }

  /** The current value of `entity` as written, in canonical form. */
  current(entity: string): string | undefined {
    return this.#current.get(entity);
  }

  /** An invalidation of `entities` starts now; tell the handle how it ended. */
  invalidating(entities: readonly string[], at: number = this.#clock()): PendingInvalidation {
    const record: InvalidationRecord = {
      entities: [...entities],
      startedAt: at,
      resolvedAt: undefined,
      attempts: 1,
    };
    this.#invalidations.push(record);
    return {
      failed: () => {
        record.attempts += 1;
      },
      resolved: (when = this.#clock()) => {
        record.resolvedAt = when;
      },
    };
  }

  /** A cache read of `entity` started at `startedAt` and returned `value` (undefined = miss). */
  read(entity: string, value: unknown, startedAt: number, endedAt: number, instance: string): void {
    this.#reads.push({
      entity,
      value: value === undefined ? undefined : canonical(value),
      startedAt,
      endedAt,
      instance,
    });
  }

  history(): History {
    return { versions: this.#versions, invalidations: this.#invalidations, reads: this.#reads };
  }
}

export interface StaleRead {
  readonly read: ReadRecord;
  /** How long after the version's deadline (D) the read started, in ms. */
  readonly lateByMs: number;
}

export interface StalenessReport {
  /** Reads recorded. */
  readonly reads: number;
  /** Reads that returned a value (misses and unknowns are never stale). */
  readonly checked: number;
  /** Reads of data invalidated more than maxStaleMs before they started. */
  readonly stale: StaleRead[];
  /** Reads of a value the entity never had before the read ended (another user's data, garbage). */
  readonly foreign: ReadRecord[];
  /** Invalidations that never resolved: the versions they were meant to clear had no deadline. */
  readonly unresolvedInvalidations: number;
  /** Largest lag seen between an old version's write being replaced and a read still
   *  returning it, among reads within the bound (informational). */
  readonly maxServedAfterInvalidationMs: number;
}

interface Timeline {
  readonly writtenAt: number[];
  readonly values: string[];
  readonly deadline: number[];
  /** Time the version's invalidation resolved (deadline - maxStaleMs), or Infinity. */
  readonly resolvedAt: number[];
}

/** Counts stale and foreign reads in `history` against the bound `maxStaleMs`. */
export function checkStaleness(history: History, options: { maxStaleMs: number }): StalenessReport {
  const { maxStaleMs } = options;
  const byEntity = new Map<string, VersionRecord[]>();
  for (const v of history.versions) {
    const list = byEntity.get(v.entity);
    if (list) list.push(v);
    else byEntity.set(v.entity, [v]);
  }
  const invalidationsByEntity = new Map<string, InvalidationRecord[]>();
  for (const inv of history.invalidations) {
    if (inv.resolvedAt === undefined) continue;
    for (const e of inv.entities) {
      const list = invalidationsByEntity.get(e);
      if (list) list.push(inv);
      else invalidationsByEntity.set(e, [inv]);
    }
  }
  const timelines = new Map<string, Timeline>();
  for (const [entity, list] of byEntity) {
    const sorted = [...list].sort((a, b) => a.writtenAt - b.writtenAt);
    const invs = invalidationsByEntity.get(entity) ?? [];
    const resolvedAt = sorted.map((_, i) => {
      const next = sorted[i + 1];
      if (!next) return Number.POSITIVE_INFINITY;
      let min = Number.POSITIVE_INFINITY;
      for (const inv of invs) {
        if (inv.startedAt >= next.writtenAt && (inv.resolvedAt ?? Number.POSITIVE_INFINITY) < min)
          min = inv.resolvedAt ?? min;
      }
      return min;
    });
    timelines.set(entity, {
      writtenAt: sorted.map((v) => v.writtenAt),
      values: sorted.map((v) => v.value),
      resolvedAt,
      deadline: resolvedAt.map((r) => r + maxStaleMs),
    });
  }

  const stale: StaleRead[] = [];
  const foreign: ReadRecord[] = [];
  let checked = 0;
  let maxServed = 0;
  for (const read of history.reads) {
    if (read.value === undefined) continue;
    checked += 1;
    const t = timelines.get(read.entity);
    let matched = false;
    let bestDeadline = Number.NEGATIVE_INFINITY;
    let bestResolved = Number.POSITIVE_INFINITY;
    if (t) {
      for (let i = 0; i < t.values.length; i++) {
        if (t.values[i] !== read.value || (t.writtenAt[i] ?? 0) > read.endedAt) continue;
        matched = true;
        const d = t.deadline[i] ?? Number.POSITIVE_INFINITY;
        if (d > bestDeadline) {
          bestDeadline = d;
          bestResolved = t.resolvedAt[i] ?? Number.POSITIVE_INFINITY;
        }
      }
    }
    if (!matched) foreign.push(read);
    else if (bestDeadline < read.startedAt)
      stale.push({ read, lateByMs: read.startedAt - bestDeadline });
    else if (Number.isFinite(bestResolved) && read.startedAt - bestResolved > maxServed)
      maxServed = read.startedAt - bestResolved;
  }
  return {
    reads: history.reads.length,
    checked,
    stale,
    foreign,
    unresolvedInvalidations: history.invalidations.filter((i) => i.resolvedAt === undefined).length,
    maxServedAfterInvalidationMs: maxServed,
  };
}
