/**
 * Per-user invalidation cost as the keyspace grows: authcache's invalidateUser (owner index +
 * fence counter + log append: no SCAN) against the reference design's SCAN MATCH + DEL loop, with
 * 1 000, 100 000 and 1 000 000 unrelated keys on the server.
 */
import { Redis } from "ioredis";
import { BACKENDS, type BackendKind, openFleet } from "../lib/backends.ts";
import { sampleContext } from "../lib/core.ts";
import { median } from "../lib/sampler.ts";
import { addUserKeys, fillUnrelated, scanInvalidate } from "../lib/scan-baseline.ts";
import { ResultBuilder, ratio, sized } from "../lib/scenario-kit.ts";
import type { Context, Scenario } from "../lib/types.ts";

const EMAIL = "alice@x.com";
const USER_KEYS = 5;

/** Keys a libSQL or memory store is filled with, at most. Memory fills through the store one
 *  write at a time; libSQL fills its entries table with one INSERT ... SELECT per 100 000 rows
 *  (through the store, a million writes would take longer than the whole benchmark budget). */
const STORE_FILL_CAP: Record<BackendKind, number> = {
  memory: 1_000_000,
  libsql: 1_000_000,
  redis: Number.POSITIVE_INFINITY,
  valkey: Number.POSITIVE_INFINITY,
};

export const invalidation: Scenario = {
  id: "invalidation",
  title: "Per-user invalidation vs keyspace size",
  async run(ctx: Context) {
    const sizes = sized(ctx, [100, 1_000], [1_000, 100_000, 1_000_000]);
    // The 1M SCAN loop takes ~10 s per pass on this machine: one pass there, more below.
    const scanReps = (n: number): number =>
      ctx.size === "smoke" ? 2 : n >= 1_000_000 ? 1 : n >= 100_000 ? 3 : 5;
    const ourReps = sized(ctx, 3, 30);
    const b = new ResultBuilder({
      id: "invalidation",
      title: "Per-user invalidation vs keyspace size",
      metric: "p50 ms per invalidation",
      better: "lower",
      baseline:
        "the SCAN baseline on the same server at the same N (memory, libSQL: the Redis one)",
      columns: ["N unrelated keys", "reps", "round trips", "vs N=smallest", "check"],
    });
    b.note(
      `SCAN baseline: \`SCAN cursor MATCH mcpgw:auth:ctx:${EMAIL}:* COUNT 10\` until the cursor is 0, one awaited DEL per match, ${USER_KEYS} user keys re-added untimed before each repetition; unrelated keys are \`SET unrelated:i v\` written in pipelines of 10 000; the server is flushed between sizes. Repetitions: 5 at 1k, 3 at 100k, 1 at 1M (budget).`,
    );
    b.note(
      `authcache: \`invalidateUser("${EMAIL}")\` with ${USER_KEYS} cached contexts of that user re-set untimed before each of ${ourReps} repetitions, on a cache with its store and bus on that backend (deleteOwner + fence incr + log append). On Redis/Valkey the unrelated keys are the same SET keys the SCAN loop walks; on memory/libSQL they are entries written through the store.`,
    );
    const scanBase = new Map<string, number>();
    const ours: Record<string, number> = {};
    for (const n of sizes) {
      for (const kind of ["redis", "valkey"] as const) {
        await ctx.flush(kind);
        const s = await ctx.server(kind);
        const client = new Redis({ host: s.host, port: s.port });
        try {
          ctx.log(`  ${kind}: writing ${n.toLocaleString("en-US")} unrelated keys`);
          await fillUnrelated(client, n, 0, ctx.log);
          const times: number[] = [];
          let calls = 0;
          let deleted = 0;
          for (let r = 0; r < scanReps(n); r++) {
            await addUserKeys(client, EMAIL, USER_KEYS);
            const run = await scanInvalidate(client, EMAIL);
            times.push(run.ms);
            calls = run.scanCalls;
            deleted = run.deleted;
          }
          const ms = median(times);
          scanBase.set(`${kind}:${n}`, ms);
          ctx.log(`  ${kind} SCAN baseline at N=${n}: ${ms.toFixed(2)} ms, ${calls} SCAN calls`);
          b.add({
            case: "SCAN MATCH COUNT 10 + DEL per match",
            backend: kind,
            subject: "baseline",
            group: `inv-${kind}-${n}`,
            value: ms,
            min: Math.min(...times),
            max: Math.max(...times),
            ratio: 1,
            cols: {
              "N unrelated keys": n,
              reps: times.length,
              "round trips": calls + deleted,
              "vs N=smallest": ratio(ms, scanBase.get(`${kind}:${sizes[0]}`)) ?? 1,
              check:
                deleted === USER_KEYS
                  ? `${deleted} deleted`
                  : `DELETED ${deleted} (expected ${USER_KEYS})`,
            },
          });
          await measureOurs(ctx, b, kind, n, ourReps, ms, ours);
        } finally {
          client.disconnect();
        }
      }
      for (const kind of BACKENDS) {
        if (kind === "redis" || kind === "valkey") continue;
        if (n > STORE_FILL_CAP[kind]) {
          b.miss(
            `${kind} at N=${n.toLocaleString("en-US")}: filling the store one write at a time would exceed the time budget (capped at ${STORE_FILL_CAP[kind].toLocaleString("en-US")})`,
          );
          continue;
        }
        await measureOurs(ctx, b, kind, n, ourReps, scanBase.get(`redis:${n}`), ours);
      }
    }
    return b.done();
  },
};

async function measureOurs(
  ctx: Context,
  b: ResultBuilder,
  kind: BackendKind,
  n: number,
  reps: number,
  base: number | undefined,
  firstOf: Record<string, number>,
): Promise<void> {
  const fleet = await openFleet(ctx, kind, { prefix: `bench-inv:` });
  if (!fleet.ok) {
    b.miss(`invalidateUser on ${kind}: ${fleet.reason}`);
    return;
  }
  try {
    if (kind === "libsql") {
      await fillLibsql(ctx, await fleet.value.rawStore(), n);
    } else if (kind === "memory") {
      const store = (await fleet.value.rawStore()) as unknown as {
        set(k: string, v: string, expiresAt: number): Promise<void>;
      };
      ctx.log(
        `  ${kind}: writing ${n.toLocaleString("en-US")} unrelated entries through the store`,
      );
      const expiresAt = Date.now() + 3_600_000;
      for (let i = 0; i < n; i++) await store.set(`unrelated:${i}`, "v", expiresAt);
    }
    const cache = await fleet.value.newCache();
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      for (let j = 0; j < USER_KEYS; j++)
        await cache.setAuthContext(EMAIL, `jti-${j}`, sampleContext(j));
      const t0 = performance.now();
      await cache.invalidateUser(EMAIL);
      times.push(performance.now() - t0);
    }
    // Counted, not timed: after the last invalidation nothing of that user reads back.
    let left = 0;
    for (let j = 0; j < USER_KEYS; j++)
      if ((await cache.getAuthContext(EMAIL, `jti-${j}`)) !== undefined) left++;
    const ms = median(times);
    firstOf[kind] ??= ms;
    ctx.log(`  authcache invalidateUser on ${kind} at N=${n}: ${ms.toFixed(3)} ms`);
    b.add({
      case: "authcache invalidateUser",
      backend: kind,
      subject: "authcache",
      group: `inv-${kind}-${n}`,
      value: ms,
      min: Math.min(...times),
      max: Math.max(...times),
      ratio: ratio(ms, base),
      cols: {
        "N unrelated keys": n,
        reps,
        "round trips": "-",
        "vs N=smallest": ratio(ms, firstOf[kind]) ?? 1,
        check: left === 0 ? "0 left" : `${left} STILL CACHED`,
      },
    });
  } finally {
    await fleet.value.close();
  }
}

/** Writes `n` unrelated live rows straight into the libSQL store's entries table (the store's
 *  default table prefix), 100 000 per statement, then checks the count. */
async function fillLibsql(ctx: Context, raw: Record<string, unknown>, n: number): Promise<void> {
  const client = raw.client as
    | { execute(q: { sql: string; args: (string | number)[] }): Promise<{ rows: unknown[] }> }
    | undefined;
  if (client === undefined) throw new Error("benchmarks: the libSQL store exposes no client");
  // The store creates its schema on first use.
  await (raw as unknown as { get(k: string): Promise<unknown> }).get("unrelated:warm-up");
  ctx.log(`  libsql: inserting ${n.toLocaleString("en-US")} unrelated rows (INSERT ... SELECT)`);
  const expiresAt = Date.now() + 3_600_000;
  const chunk = 100_000;
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(n, from + chunk);
    await client.execute({
      sql: "WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?2) INSERT INTO authcache_entries (key, value, expires_at) SELECT 'unrelated:' || i, 'v', ?3 FROM seq",
      args: [from, to, expiresAt],
    });
  }
  const res = await client.execute({
    sql: "SELECT count(*) AS n FROM authcache_entries WHERE key LIKE 'unrelated:%'",
    args: [],
  });
  const got = Number((res.rows[0] as { n?: unknown } | undefined)?.n);
  if (got !== n) throw new Error(`benchmarks: libSQL fill wrote ${got} rows, expected ${n}`);
}
