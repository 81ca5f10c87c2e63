/**
 * L2 hit on an L1 miss: every read asks for a key that another instance wrote to the shared
 * store and that the reader has never seen. authcache's getAuthContext (one store.read round trip
 * carrying the entry, the user's fence, gen:all and the revoked-set check; then decode and L1
 * fill) against a raw client GET on the same server, and against bentocache and cacheable.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestServer } from "@authcache/test-servers";
import { createClient } from "@libsql/client";
import { GlideClient } from "@valkey/valkey-glide";
import { Redis } from "ioredis";
import { BACKENDS, type BackendKind, openFleet } from "../lib/backends.ts";
import { sampleContext } from "../lib/core.ts";
import { concurrentLatenciesUs, median, percentile } from "../lib/sampler.ts";
import { ResultBuilder, sized } from "../lib/scenario-kit.ts";
import { commandsProcessed } from "../lib/server-stats.ts";
import type { Context, Row, Scenario } from "../lib/types.ts";
import { bentoTwoTier, cacheableTwoTier } from "../peers/two-tier.ts";

const HOUR = 3_600_000;
const CONCURRENCY = 64;

/** Something that can be read key by key, each key once. */
interface Subject {
  readonly name: string;
  readonly backend: BackendKind;
  readonly subject: Row["subject"];
  /** Writes `total` keys (untimed) so that reads 0..total-1 all hit L2. */
  prepare(total: number): Promise<void>;
  read(i: number): Promise<unknown>;
  /** The server whose command counter is read around the sequential pass. */
  readonly server?: TestServer;
  close(): Promise<void>;
}

const payload = (i: number): string => JSON.stringify(sampleContext(i));

async function parallel(total: number, workers: number, f: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < total) await f(next++);
    }),
  );
}

export const l2Hit: Scenario = {
  id: "l2-hit",
  title: "L2 hit (L1 miss)",
  async run(ctx: Context) {
    const runs = sized(ctx, 1, 3);
    const counts = (kind: BackendKind): { seq: number; conc: number } =>
      ctx.size === "smoke"
        ? { seq: 30, conc: 64 }
        : kind === "libsql"
          ? { seq: 1_000, conc: 2_000 }
          : { seq: 2_000, conc: 5_000 };
    const b = new ResultBuilder({
      id: "l2-hit",
      title: "L2 hit (L1 miss)",
      metric: "p50 µs/read",
      better: "lower",
      baseline:
        "the raw read on the same backend at the same concurrency (Redis: ioredis GET; Valkey: valkey-glide GET; libSQL: SELECT by primary key; memory: await of Map.get)",
      columns: ["concurrency", "p99 µs", "reads/s", "reads/s ÷ raw", "server cmds/read", "misses"],
    });
    b.note(
      `Each read asks for a key written beforehand by another instance (a writer cache sharing the store, an L2-only bentocache, a second Cacheable) and never read before, so every read is an L1 miss then an L2 hit; ~200 B JSON values. Sequential (one read in flight) and ${CONCURRENCY}-way (one connection per client, no pooling). Cell = median of ${runs} runs, interleaved across the rows of a backend; ratio = median of the per-run ratios to the baseline's run; p99 = median of the runs' p99.`,
    );
    b.note(
      "server cmds/read = total_commands_processed delta over the sequential pass ÷ reads (a bus follower's blocking reads add a few per second).",
    );
    for (const kind of BACKENDS) {
      const subjects: Subject[] = [];
      let baseline: Subject;
      try {
        baseline = await rawSubject(ctx, kind);
      } catch (e) {
        b.miss(`raw ${kind} read: ${(e as Error).message}`);
        continue;
      }
      subjects.push(baseline);
      const ours = await ourSubject(ctx, kind);
      if (typeof ours === "string") b.miss(`getAuthContext on ${kind}: ${ours}`);
      else subjects.push(ours);
      if (kind === "redis") subjects.push(...(await peerSubjects(ctx)));
      const { seq, conc } = counts(kind);
      const perRun = seq + conc;
      try {
        for (const s of subjects) {
          ctx.log(`  ${s.name} [${kind}]: writing ${(perRun * runs).toLocaleString("en-US")} keys`);
          await s.prepare(perRun * runs);
        }
        // Runs are interleaved (run r of every subject, then run r + 1), and a row's ratio is
        // the median of its per-run ratios to the baseline's run r: on a shared machine the
        // load drifts over the seconds between subjects, and pairing cancels most of it.
        interface Acc {
          seqP50: number[];
          seqP99: number[];
          seqOps: number[];
          concP50: number[];
          concP99: number[];
          concOps: number[];
          misses: number;
          cmds: number;
        }
        const acc = new Map<Subject, Acc>();
        for (const s of subjects)
          acc.set(s, {
            seqP50: [],
            seqP99: [],
            seqOps: [],
            concP50: [],
            concP99: [],
            concOps: [],
            misses: 0,
            cmds: Number.NaN,
          });
        for (let r = 0; r < runs; r++) {
          const off = r * perRun;
          for (const s of subjects) {
            const m = acc.get(s) as Acc;
            const count = async (i: number): Promise<unknown> => {
              const v = await s.read(i);
              if (v === undefined || v === null) m.misses++;
              return v;
            };
            const c0 = s.server ? await commandsProcessed(s.server) : Number.NaN;
            const a = await concurrentLatenciesUs((i) => count(off + i), seq, 1);
            if (s.server) m.cmds = ((await commandsProcessed(s.server)) - c0 - 1) / seq;
            m.seqP50.push(percentile(a.sorted, 50));
            m.seqP99.push(percentile(a.sorted, 99));
            m.seqOps.push(a.opsPerSec);
            const c = await concurrentLatenciesUs((i) => count(off + seq + i), conc, CONCURRENCY);
            m.concP50.push(percentile(c.sorted, 50));
            m.concP99.push(percentile(c.sorted, 99));
            m.concOps.push(c.opsPerSec);
          }
        }
        const baseAcc = acc.get(baseline) as Acc;
        for (const s of subjects) {
          const m = acc.get(s) as Acc;
          const rows: [number, number[], number[], number[], number[], number[]][] = [
            [1, m.seqP50, m.seqP99, m.seqOps, baseAcc.seqP50, baseAcc.seqOps],
            [CONCURRENCY, m.concP50, m.concP99, m.concOps, baseAcc.concP50, baseAcc.concOps],
          ];
          for (const [concurrency, p50s, p99s, ops, baseP50s, baseOps] of rows) {
            const v = median(p50s);
            b.add({
              case: s.name,
              backend: kind,
              subject: s.subject,
              group: `l2-${kind}-${concurrency}`,
              value: v,
              min: Math.min(...p50s),
              max: Math.max(...p50s),
              ratio: pairedMedian(p50s, baseP50s),
              cols: {
                concurrency: concurrency === 1 ? "sequential" : `${concurrency}-way`,
                "p99 µs": median(p99s),
                "reads/s": median(ops),
                "reads/s ÷ raw": pairedMedian(ops, baseOps) ?? "-",
                "server cmds/read": concurrency === 1 && Number.isFinite(m.cmds) ? m.cmds : "-",
                misses: m.misses,
              },
            });
          }
          ctx.log(
            `    ${s.name} [${kind}]: p50 ${median(m.seqP50).toFixed(1)} µs sequential, ${median(m.concP50).toFixed(0)} µs ${CONCURRENCY}-way, ${m.misses} misses`,
          );
        }
      } finally {
        for (const s of subjects) await s.close().catch(() => {});
      }
    }
    return b.done();
  },
};

async function rawSubject(ctx: Context, kind: BackendKind): Promise<Subject> {
  if (kind === "memory") {
    const map = new Map<string, string>();
    return {
      name: "await of Map.get (floor)",
      backend: kind,
      subject: "baseline",
      prepare: async (total) => {
        for (let i = 0; i < total; i++) map.set(`raw:${i}`, payload(i));
      },
      read: async (i) => map.get(`raw:${i}`),
      close: async () => map.clear(),
    };
  }
  if (kind === "libsql") {
    const dir = mkdtempSync(join(tmpdir(), "authcache-bench-raw-"));
    const db = createClient({ url: `file:${join(dir, "raw.db")}` });
    await db.execute("PRAGMA journal_mode=WAL");
    await db.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    return {
      name: "libSQL SELECT v FROM kv WHERE k = ? (raw)",
      backend: kind,
      subject: "baseline",
      prepare: async (total) => {
        for (let start = 0; start < total; start += 1000) {
          const stmts = [];
          for (let i = start; i < Math.min(total, start + 1000); i++)
            stmts.push({
              sql: "INSERT INTO kv (k, v) VALUES (?, ?)",
              args: [`raw:${i}`, payload(i)],
            });
          await db.batch(stmts, "write");
        }
      },
      read: async (i) =>
        (await db.execute({ sql: "SELECT v FROM kv WHERE k = ?", args: [`raw:${i}`] })).rows[0]?.v,
      close: async () => {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  await ctx.flush(kind);
  const server = await ctx.server(kind);
  const writer = new Redis({ host: server.host, port: server.port });
  const prepare = async (total: number): Promise<void> => {
    for (let start = 0; start < total; start += 1000) {
      const p = writer.pipeline();
      for (let i = start; i < Math.min(total, start + 1000); i++) p.set(`raw:${i}`, payload(i));
      await p.exec();
    }
  };
  if (kind === "redis") {
    const client = new Redis({ host: server.host, port: server.port });
    await client.ping();
    return {
      name: "ioredis GET (raw)",
      backend: kind,
      subject: "baseline",
      server,
      prepare,
      read: (i) => client.get(`raw:${i}`),
      close: async () => {
        client.disconnect();
        writer.disconnect();
      },
    };
  }
  const glide = await GlideClient.createClient({
    addresses: [{ host: server.host, port: server.port }],
    requestTimeout: 5000,
  });
  return {
    name: "valkey-glide GET (raw)",
    backend: kind,
    subject: "baseline",
    server,
    prepare,
    read: (i) => glide.get(`raw:${i}`),
    close: async () => {
      glide.close();
      writer.disconnect();
    },
  };
}

async function ourSubject(ctx: Context, kind: BackendKind): Promise<Subject | string> {
  const fleet = await openFleet(ctx, kind, { prefix: "bench-l2:" });
  if (!fleet.ok) return fleet.reason;
  const writer = await fleet.value.newCache();
  const reader = await fleet.value.newCache();
  const email = (i: number): string => `l2user${i}@example.com`;
  const jti = (i: number): string => `jti-${i}`;
  return {
    name: "authcache getAuthContext, L1 miss -> L2 hit",
    backend: kind,
    subject: "authcache",
    ...(kind === "redis" || kind === "valkey" ? { server: await ctx.server(kind) } : {}),
    prepare: (total) =>
      parallel(total, 32, (i) => writer.setAuthContext(email(i), jti(i), sampleContext(i))),
    read: (i) => reader.getAuthContext(email(i), jti(i)),
    close: () => fleet.value.close(),
  };
}

async function peerSubjects(ctx: Context): Promise<Subject[]> {
  const server = await ctx.server("redis");
  const bentoWriter = bentoTwoTier(server, {
    serializeL1: true,
    prefix: "bench-l2-bento",
    l2Only: true,
  });
  const bento = bentoTwoTier(server, { serializeL1: true, prefix: "bench-l2-bento" });
  const cacheWriter = cacheableTwoTier(server, { useClone: true, namespace: "bench-l2-cacheable" });
  const cacheable = cacheableTwoTier(server, { useClone: true, namespace: "bench-l2-cacheable" });
  const key = (i: number): string => `l2:${i}`;
  return [
    {
      name: "bentocache get, L1 miss -> L2 hit (default)",
      backend: "redis",
      subject: "peer",
      server,
      prepare: (total) =>
        parallel(total, 32, (i) => bentoWriter.set(key(i), sampleContext(i), HOUR)),
      read: (i) => bento.get(key(i)),
      close: async () => {
        await bento.close();
        await bentoWriter.close();
      },
    },
    {
      name: "cacheable get, L1 miss -> L2 hit (default, @keyv/redis)",
      backend: "redis",
      subject: "peer",
      server,
      prepare: (total) =>
        parallel(total, 32, (i) => cacheWriter.set(key(i), sampleContext(i), HOUR)),
      read: (i) => cacheable.get(key(i)),
      close: async () => {
        await cacheable.close();
        await cacheWriter.close();
      },
    },
  ];
}

/** The median of the per-run ratios `xs[i] / bs[i]` (run i of a row against run i of its
 *  baseline, taken in the same round), or undefined when no run has a baseline. */
function pairedMedian(xs: readonly number[], bs: readonly number[]): number | undefined {
  const r = xs.flatMap((x, i) => {
    const b0 = bs[i];
    return b0 !== undefined && b0 > 0 ? [x / b0] : [];
  });
  return r.length ? median(r) : undefined;
}
