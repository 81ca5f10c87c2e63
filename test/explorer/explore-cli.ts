/**
 * `make explore`: the explorer's longer run, on real Redis, Valkey and libSQL (and memory when
 * asked), bounded by runs and by time per backend. Exits 1 if any backend found a violation.
 *
 *   AUTHCACHE_EXPLORE_BACKENDS  comma list of memory,redis,valkey,libsql (default redis,valkey,libsql)
 *   AUTHCACHE_EXPLORE_SECONDS   time budget per backend and seed (default 60)
 *   AUTHCACHE_EXPLORE_RUNS      runs per backend and seed at most (default 2000)
 *   AUTHCACHE_EXPLORE_SEEDS     how many seeds per backend (default 1), from AUTHCACHE_SEED or a random one
 *   AUTHCACHE_SEED              <seed> or <seed>:<path> (replays a printed counterexample)
 */
import { type RealKind, realBackend, startRealServers } from "./backends.ts";
import { explore, memoryBackend, seedFromEnv, type Totals } from "./explorer.ts";

type Kind = RealKind | "memory";
const KINDS: readonly Kind[] = ["memory", "redis", "valkey", "libsql"];

const kinds = (process.env.AUTHCACHE_EXPLORE_BACKENDS ?? "redis,valkey,libsql")
  .split(",")
  .map((k) => k.trim())
  .filter((k) => k !== "") as Kind[];
for (const k of kinds) {
  if (!KINDS.includes(k)) {
    throw new RangeError(`AUTHCACHE_EXPLORE_BACKENDS: unknown backend ${k} (${KINDS.join(", ")})`);
  }
}
const seconds = Number(process.env.AUTHCACHE_EXPLORE_SECONDS ?? 60);
const runs = Number(process.env.AUTHCACHE_EXPLORE_RUNS ?? 2_000);
const seedCount = Number(process.env.AUTHCACHE_EXPLORE_SEEDS ?? 1);
const replay = seedFromEnv();
const firstSeed = replay?.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;

const real = kinds.filter((k): k is RealKind => k !== "memory");
const servers = real.length > 0 ? await startRealServers(real) : undefined;
let failures = 0;
try {
  for (const kind of kinds) {
    const sum: Totals = {
      runs: 0,
      actions: 0,
      faults: 0,
      invalidations: 0,
      loads: 0,
      l1Hits: 0,
      orderedPublishes: 0,
      reads: 0,
      checked: 0,
    };
    const started = Date.now();
    for (let n = 0; n < seedCount; n++) {
      const seed = (firstSeed + n) | 0;
      const out = await explore(
        kind === "memory"
          ? memoryBackend
          : () => realBackend(kind, servers as NonNullable<typeof servers>),
        {
          seed,
          numRuns: runs,
          budgetMs: seconds * 1_000,
          ...(replay?.path === undefined ? {} : { path: replay.path }),
        },
      );
      for (const k of Object.keys(sum) as (keyof Totals)[]) sum[k] += out.totals[k];
      if (out.failed) {
        failures++;
        console.log(`${kind} seed ${seed}: FAILED at run ${out.numRuns}`);
        console.log(out.report);
      } else {
        console.log(`${kind} seed ${seed}: ${out.totals.runs} runs, no violation`);
      }
    }
    console.log(
      `${kind}: ${sum.runs} runs, ${sum.actions} actions, ${sum.faults} faults, ` +
        `${sum.invalidations} invalidations (${sum.orderedPublishes} as ordered publishes), ${sum.loads} loads, ${sum.reads} reads ` +
        `(${sum.checked} checked, ${sum.l1Hits} from L1) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }
} finally {
  await servers?.stop();
}
console.log(failures === 0 ? "explore: no violation" : `explore: ${failures} violation(s)`);
process.exit(failures === 0 ? 0 : 1);
