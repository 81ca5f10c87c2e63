/**
 * A small sampler with the method of `shared/reference/peer-baselines.md` (mitata `measure()`):
 * warm up, then time batches of calls and keep each batch's mean; a run's figure is the median of
 * its batch means; a cell is the median of several runs' figures, with their min and max.
 * Hand-rolled so the time budget of each case is explicit and async calls are awaited one at a time.
 */

const nowNs = (): number => Bun.nanoseconds();

/** Results are folded into this so the engine cannot drop the calls being measured. */
let sink = 0;
export function consume(v: unknown): void {
  sink = (sink + (v === undefined ? 1 : 2)) | 0;
}
export function sinkValue(): number {
  return sink;
}

export interface SampleOptions {
  /** Calls per timed batch. */
  readonly batch: number;
  /** Untimed calls before the first batch (JIT tiers up, caches fill). */
  readonly warmup: number;
  /** Stop sampling after this much wall time... */
  readonly timeMs: number;
  /** ...or after this many batches, whichever comes first. */
  readonly maxSamples: number;
  /** ...but never with fewer than this many batches. */
  readonly minSamples: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Median ns per call of a synchronous function (called with a running index). */
export function sampleSync(fn: (i: number) => unknown, o: SampleOptions): number {
  let i = 0;
  for (let w = 0; w < o.warmup; w++) consume(fn(i++));
  const means: number[] = [];
  const stop = nowNs() + o.timeMs * 1e6;
  while (means.length < o.maxSamples && (means.length < o.minSamples || nowNs() < stop)) {
    const t0 = nowNs();
    for (let b = 0; b < o.batch; b++) consume(fn(i++));
    means.push((nowNs() - t0) / o.batch);
  }
  return median(means);
}

/** Lets timers and I/O run (a macrotask turn), as a server's event loop does between requests. */
export const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Median ns per call of an async function, each call awaited before the next.
 *  Between batches (untimed) the event loop turns: a loop of calls that resolve at once would
 *  otherwise starve every timer and socket, including a cache's bus follower. */
export async function sampleAsync(
  fn: (i: number) => Promise<unknown>,
  o: SampleOptions,
): Promise<number> {
  let i = 0;
  for (let w = 0; w < o.warmup; w++) {
    consume(await fn(i++));
    if (w % o.batch === o.batch - 1) await yieldToEventLoop();
  }
  const means: number[] = [];
  const stop = nowNs() + o.timeMs * 1e6;
  while (means.length < o.maxSamples && (means.length < o.minSamples || nowNs() < stop)) {
    await yieldToEventLoop();
    const t0 = nowNs();
    for (let b = 0; b < o.batch; b++) consume(await fn(i++));
    means.push((nowNs() - t0) / o.batch);
  }
  return median(means);
}

export interface Spread {
  /** Median of the per-run figures. */
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number[];
}

export function spread(runs: number[]): Spread {
  return { value: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs };
}

/** Per-call latency in µs of `count` calls of `fn`, one at a time, ascending. */
export async function latenciesUs(
  fn: (i: number) => Promise<unknown>,
  count: number,
): Promise<number[]> {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const t0 = nowNs();
    consume(await fn(i));
    out[i] = (nowNs() - t0) / 1e3;
  }
  return out.sort((a, b) => a - b);
}

/** `concurrency` workers share `count` calls; returns per-call µs (ascending) and calls/s. */
export async function concurrentLatenciesUs(
  fn: (i: number) => Promise<unknown>,
  count: number,
  concurrency: number,
): Promise<{ sorted: number[]; opsPerSec: number }> {
  const out = new Array<number>(count);
  let next = 0;
  const start = nowNs();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const t0 = nowNs();
      consume(await fn(i));
      out[i] = (nowNs() - t0) / 1e3;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (nowNs() - start) / 1e9;
  return { sorted: out.sort((a, b) => a - b), opsPerSec: count / seconds };
}

/** A deterministic PRNG (mulberry32), so traces and key orders are the same in every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A power-of-two table of pseudo-random indexes below `n` (read with `i & (length - 1)`). */
export function randomIndexes(n: number, seed = 42, size = 1 << 16): Uint32Array {
  const r = prng(seed);
  const t = new Uint32Array(size);
  for (let i = 0; i < size; i++) t[i] = Math.floor(r() * n);
  return t;
}
