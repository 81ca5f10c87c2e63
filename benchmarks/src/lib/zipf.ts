import { prng } from "./sampler.ts";

/** One access of a trace: a key, and whether it belongs to the one-hit flood. */
export interface Trace {
  readonly keys: string[];
  /** flood[i] is 1 when keys[i] is a one-hit key (seen once in the whole trace). */
  readonly flood: Uint8Array;
  readonly zipfAccesses: number;
  readonly floodAccesses: number;
}

export interface TraceOptions {
  /** Distinct keys of the Zipf population. */
  readonly universe: number;
  /** Zipf exponent (1.0: the k-th most popular key is k times rarer than the first). */
  readonly exponent: number;
  /** Accesses drawn from the Zipf population. */
  readonly accesses: number;
  /** One-hit keys per Zipf access (0.5: one flood key every other Zipf access). */
  readonly floodRatio: number;
  readonly seed?: number;
}

/** Builds a Zipf trace interleaved evenly with one-hit keys, before anything is timed. */
export function zipfTrace(o: TraceOptions): Trace {
  const rand = prng(o.seed ?? 7);
  // Cumulative weights 1/k^s, then a binary search per draw: exact and fast enough at 10^5 keys.
  const cdf = new Float64Array(o.universe);
  let total = 0;
  for (let k = 0; k < o.universe; k++) {
    total += 1 / (k + 1) ** o.exponent;
    cdf[k] = total;
  }
  const draw = (): number => {
    const u = rand() * total;
    let lo = 0;
    let hi = o.universe - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // Popularity must not follow key order (a policy could otherwise learn the numbering).
  const perm = new Uint32Array(o.universe);
  for (let i = 0; i < o.universe; i++) perm[i] = i;
  for (let i = o.universe - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  const floodCount = Math.round(o.accesses * o.floodRatio);
  const keys: string[] = [];
  const flood = new Uint8Array(o.accesses + floodCount);
  let owed = 0;
  let f = 0;
  for (let a = 0; a < o.accesses; a++) {
    keys.push(`ctx:{user${perm[draw()]}@example.com}:jti`);
    owed += o.floodRatio;
    while (owed >= 1 && f < floodCount) {
      owed -= 1;
      flood[keys.length] = 1;
      keys.push(`ctx:{scan${f++}@flood.example}:jti`);
    }
  }
  return {
    keys,
    flood: flood.subarray(0, keys.length),
    zipfAccesses: o.accesses,
    floodAccesses: f,
  };
}

/** A cache seen the way the trace uses it: get, and set on a miss. */
export interface TraceCache {
  get(key: string, now: number): unknown;
  set(key: string, now: number): void;
}

export interface TraceResult {
  /** Hits over the Zipf accesses only (one-hit keys can never hit). */
  readonly zipfHitRatio: number;
  readonly hits: number;
  readonly zipfAccesses: number;
}

/** Replays a trace; the clock advances 1 ms per access so TTL-aware caches see time pass. */
export function replay(trace: Trace, cache: TraceCache, startNow = 1_700_000_000_000): TraceResult {
  let hits = 0;
  let now = startNow;
  const { keys, flood } = trace;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    now += 1;
    if (cache.get(key, now) !== undefined) {
      if (flood[i] === 0) hits++;
    } else cache.set(key, now);
  }
  return { zipfHitRatio: hits / trace.zipfAccesses, hits, zipfAccesses: trace.zipfAccesses };
}
