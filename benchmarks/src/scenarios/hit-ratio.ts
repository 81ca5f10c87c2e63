/**
 * L1 hit ratio: core's L1Cache (admission policy) against lru-cache (plain LRU) of the same
 * capacity, replaying the same Zipf trace, alone and interleaved with a flood of one-hit keys
 * (a scanner, a credential-stuffing burst: keys that will never be asked for again).
 */
import { LRUCache } from "lru-cache";
import { loadL1 } from "../lib/core.ts";
import { ResultBuilder, ratio, sized } from "../lib/scenario-kit.ts";
import type { Context, Scenario } from "../lib/types.ts";
import { replay, type Trace, type TraceCache, zipfTrace } from "../lib/zipf.ts";

const HOUR = 3_600_000;
const VALUE = Object.freeze({ ok: true });

export const hitRatio: Scenario = {
  id: "hit-ratio",
  title: "L1 hit ratio (Zipf trace, one-hit flood)",
  async run(ctx: Context) {
    const capacity = sized(ctx, 100, 2_000);
    const universe = sized(ctx, 2_000, 100_000);
    const accesses = sized(ctx, 5_000, 400_000);
    const b = new ResultBuilder({
      id: "hit-ratio",
      title: "L1 hit ratio (Zipf trace, one-hit flood)",
      metric: "hit ratio % (Zipf accesses)",
      better: "higher",
      baseline: "lru-cache on the same trace and capacity",
      columns: ["hits", "Zipf accesses", "one-hit keys", "ns/access", "evictions"],
    });
    b.note(
      `Capacity ${capacity.toLocaleString("en-US")} entries; ${universe.toLocaleString("en-US")} distinct keys drawn with Zipf exponent s; ${accesses.toLocaleString("en-US")} Zipf accesses; flood = one never-repeated key per Zipf access (50 % of all accesses). Hit ratio counts Zipf accesses only (a one-hit key can never hit). Trace generated before timing, same seed for both caches; a miss sets the key; TTL 1 h (never reached).`,
    );
    const L1 = await loadL1();
    if (!L1.ok) b.miss(`core L1Cache: ${L1.reason}`);
    const traces: [string, Trace][] = [];
    for (const s of [0.8, 1.0]) {
      traces.push([`Zipf s=${s}`, zipfTrace({ universe, exponent: s, accesses, floodRatio: 0 })]);
      traces.push([
        `Zipf s=${s} + one-hit flood`,
        zipfTrace({ universe, exponent: s, accesses, floodRatio: 1 }),
      ]);
    }
    for (const [name, trace] of traces) {
      ctx.log(`  ${name}: ${trace.keys.length.toLocaleString("en-US")} accesses`);
      const lru = new LRUCache<string, object>({ max: capacity, ttl: HOUR, ttlAutopurge: false });
      let t0 = performance.now();
      const lruFace: TraceCache = {
        get: (k) => lru.get(k),
        set: (k) => {
          lru.set(k, VALUE);
        },
      };
      const base = replay(trace, lruFace);
      const lruNs = ((performance.now() - t0) * 1e6) / trace.keys.length;
      const basePct = base.zipfHitRatio * 100;
      b.add({
        case: `lru-cache, ${name}`,
        backend: "-",
        subject: "peer",
        group: name,
        value: basePct,
        ratio: 1,
        cols: {
          hits: base.hits,
          "Zipf accesses": base.zipfAccesses,
          "one-hit keys": trace.floodAccesses,
          "ns/access": lruNs,
          evictions: "n/a",
        },
      });
      if (!L1.ok) continue;
      const l1 = new L1.value({ maxEntries: capacity });
      const face: TraceCache = {
        get: (k, now) => l1.get(k, now),
        set: (k, now) => l1.set(k, VALUE, now + HOUR, now),
      };
      t0 = performance.now();
      const r = replay(trace, face);
      const ns = ((performance.now() - t0) * 1e6) / trace.keys.length;
      if (l1.size > capacity)
        throw new Error(`L1Cache exceeded maxEntries: ${l1.size} > ${capacity}`);
      const pct = r.zipfHitRatio * 100;
      b.add({
        case: `core L1Cache, ${name}`,
        backend: "-",
        subject: "authcache",
        group: name,
        value: pct,
        ratio: ratio(pct, basePct),
        cols: {
          hits: r.hits,
          "Zipf accesses": r.zipfAccesses,
          "one-hit keys": trace.floodAccesses,
          "ns/access": ns,
          evictions: l1.evictions,
        },
      });
      ctx.log(`    lru-cache ${basePct.toFixed(1)} %, L1Cache ${pct.toFixed(1)} %`);
    }
    b.note(
      "ns/access is one replay's wall time per access (get, plus set on a miss), a rough figure; the L1 hit cost proper is in the L1 hit scenario.",
    );
    return b.done();
  },
};
