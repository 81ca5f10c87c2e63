/**
 * Cold miss: 100 concurrent requests for one key nobody has cached. authcache's
 * resolveAuthContext runs the loader once (singleflight) and fences the fill; the baseline is no
 * cache at all (each request runs the loader); the peers use their own stampede protection.
 */
import { BACKENDS, openFleet } from "../lib/backends.ts";
import { type AuthContextValue, sampleContext } from "../lib/core.ts";
import { median, percentile } from "../lib/sampler.ts";
import { ResultBuilder, ratio, sized, sleep } from "../lib/scenario-kit.ts";
import type { Context, Row, Scenario } from "../lib/types.ts";
import { bentoTwoTier, cacheableTwoTier } from "../peers/two-tier.ts";

const REQUESTS = 100;
const LOADER_MS = 2;
const HOUR = 3_600_000;

interface Burst {
  readonly ms: number;
  readonly perRequestMs: number[];
  readonly loaderCalls: number;
  readonly wrong: number;
}

/** Fires `REQUESTS` calls at once for burst `k` and waits for all of them. */
async function burst(
  k: number,
  call: (k: number, loader: () => Promise<AuthContextValue>) => Promise<unknown>,
): Promise<Burst> {
  let loaderCalls = 0;
  const loader = async (): Promise<AuthContextValue> => {
    loaderCalls++;
    await sleep(LOADER_MS);
    return sampleContext(k);
  };
  const per: number[] = [];
  let wrong = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: REQUESTS }, async () => {
      const v = (await call(k, loader)) as AuthContextValue | undefined;
      per.push(performance.now() - t0);
      if ((v?.personalTeamId ?? "") !== `team-personal-${k}`) wrong++;
    }),
  );
  return { ms: performance.now() - t0, perRequestMs: per, loaderCalls, wrong };
}

export const coldMiss: Scenario = {
  id: "cold-miss",
  title: `Cold miss: ${REQUESTS} concurrent requests for one key`,
  async run(ctx: Context) {
    const reps = sized(ctx, 2, 40);
    const b = new ResultBuilder({
      id: "cold-miss",
      title: `Cold miss: ${REQUESTS} concurrent requests for one key`,
      metric: "p50 ms until all answered",
      better: "lower",
      baseline: `no cache (each of the ${REQUESTS} requests runs the loader)`,
      columns: ["loader calls / burst", "max loader calls", "p99 request ms", "wrong answers"],
    });
    b.note(
      `The loader stands in for the batched DB load: ${LOADER_MS} ms (a timer), returns a fresh context. ${reps} bursts per row, each on a fresh key; cell = median burst time; p99 over every request of every burst.`,
    );
    let base: number | undefined;
    const record = (
      name: string,
      backend: string,
      subject: Row["subject"],
      bursts: Burst[],
    ): void => {
      const ms = median(bursts.map((x) => x.ms));
      if (subject === "baseline") base = ms;
      const all = bursts.flatMap((x) => x.perRequestMs).sort((a, c) => a - c);
      const calls = bursts.map((x) => x.loaderCalls);
      b.add({
        case: name,
        backend,
        subject,
        group: "cold",
        value: ms,
        min: Math.min(...bursts.map((x) => x.ms)),
        max: Math.max(...bursts.map((x) => x.ms)),
        ratio: ratio(ms, base),
        cols: {
          "loader calls / burst": calls.reduce((a, c) => a + c, 0) / calls.length,
          "max loader calls": Math.max(...calls),
          "p99 request ms": percentile(all, 99),
          "wrong answers": bursts.reduce((a, x) => a + x.wrong, 0),
        },
      });
      ctx.log(
        `  ${name} [${backend}]: ${ms.toFixed(2)} ms, loader calls ${Math.max(...calls)} max`,
      );
    };
    const run = async (
      call: (k: number, loader: () => Promise<AuthContextValue>) => Promise<unknown>,
      offset: number,
    ): Promise<Burst[]> => {
      const out: Burst[] = [];
      await burst(offset + 1_000_000, call); // warm the path (connections, JIT), untimed
      for (let r = 0; r < reps; r++) out.push(await burst(offset + r, call));
      return out;
    };

    record("no cache: loader per request", "-", "baseline", await run((_k, l) => l(), 0));

    for (const kind of BACKENDS) {
      const fleet = await openFleet(ctx, kind, { prefix: "bench-cold:" });
      if (!fleet.ok) {
        b.miss(`resolveAuthContext on ${kind}: ${fleet.reason}`);
        continue;
      }
      try {
        const cache = await fleet.value.newCache();
        const bursts = await run(
          (k, l) => cache.resolveAuthContext(`cold${k}@example.com`, `jti-${k}`, l),
          0,
        );
        record("authcache resolveAuthContext", kind, "authcache", bursts);
      } finally {
        await fleet.value.close();
      }
    }

    await ctx.flush("redis");
    const redis = await ctx.server("redis");
    const peers = [
      bentoTwoTier(redis, { serializeL1: true, prefix: "bench-cold-bento" }),
      cacheableTwoTier(redis, { useClone: true, namespace: "bench-cold-cacheable" }),
    ];
    for (const p of peers) {
      try {
        const bursts = await run((k, l) => p.getOrSet(`cold:${k}`, l, HOUR), 0);
        record(`${p.name} getOrSet`, "redis", "peer", bursts);
      } finally {
        await p.close();
      }
    }
    return b.done();
  },
};
