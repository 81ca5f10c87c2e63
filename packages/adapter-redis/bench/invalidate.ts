/**
 * Invalidating one user, with 1 000 and with 1 000 000 unrelated keys in Redis:
 *   owner index  — this adapter's `deleteOwner` (one script: read the user's index, delete
 *                  its members and the index), cost ∝ that user's entries;
 *   SCAN baseline — what the reference design did: SCAN cursor MATCH <prefix>ctx:<email>:*
 *                  COUNT 10 until the cursor returns to 0, one awaited DEL per match; cost ∝ the
 *                  whole keyspace. It exists here only as the baseline, outside src/.
 *
 * Run: bun packages/adapter-redis/bench/invalidate.ts   (a script, not a test)
 * Pins bun to CPU 0 and redis-server to CPU 1 with taskset when available. Prints medians.
 */
import { execFileSync } from "node:child_process";
import { cpus, hostname } from "node:os";
import { startServer } from "@authcache/test-servers";
import { Redis } from "ioredis";
import { createRedisStore } from "../src/index.ts";

const SIZES = [1_000, 1_000_000];
const ENTRIES_PER_USER = 10; // the invalidated user's own entries (contexts of 10 tokens)
const PIPELINE = 10_000;
const SAMPLES: Record<number, { owner: number; scan: number }> = {
  1000: { owner: 200, scan: 50 },
  1000000: { owner: 200, scan: 5 },
};

function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

const server = await startServer("redis");
const pinned = pin(process.pid, 0) && server.pid !== undefined && pin(server.pid, 1);
const admin = new Redis(server.url);
const store = createRedisStore({ url: server.url });
const version = /redis_version:(\S+)/.exec((await admin.info("server")) as string)?.[1];

async function fill(count: number): Promise<void> {
  await admin.flushall();
  for (let start = 0; start < count; start += PIPELINE) {
    const p = admin.pipeline();
    // Other users' contexts, shaped as the reference design keyed them.
    for (let i = start; i < Math.min(count, start + PIPELINE); i++) {
      p.set(`mcpgw:ctx:user${i}@corp.com:jti-${i}`, "{}", "EX", 3600);
    }
    await p.exec();
  }
}

/** The user's entries in the owner-index scheme (core's key shape, one hash tag per user). */
async function writeOwned(): Promise<string> {
  const owner = "authcache:own:{u:target%40corp.com}";
  const exp = Date.now() + 3_600_000;
  for (let j = 0; j < ENTRIES_PER_USER; j++) {
    await store.set(`authcache:ctx:{u:target%40corp.com}:jti-${j}`, "{}", exp, [owner]);
  }
  return owner;
}

/** The user's entries in the reference scheme. */
async function writeReference(): Promise<void> {
  const p = admin.pipeline();
  for (let j = 0; j < ENTRIES_PER_USER; j++)
    p.set(`mcpgw:ctx:target@corp.com:jti-${j}`, "{}", "EX", 3600);
  await p.exec();
}

/** BASELINE ONLY (the reference design): walks the keyspace ten keys per round trip. */
async function scanBaseline(email: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `mcpgw:ctx:${email}:*`, "COUNT", 10);
    cursor = next;
    for (const k of keys) deleted += await admin.del(k);
  } while (cursor !== "0");
  return deleted;
}

const rows: string[][] = [];
for (const size of SIZES) {
  const t0 = performance.now();
  await fill(size);
  const filled = performance.now() - t0;
  const n = SAMPLES[size] as { owner: number; scan: number };
  const owner: number[] = [];
  const scan: number[] = [];
  for (let i = 0; i < 20; i++) await store.deleteOwner(await writeOwned()); // warm-up
  for (let i = 0; i < n.owner; i++) {
    const key = await writeOwned();
    const t = performance.now();
    await store.deleteOwner(key);
    owner.push(performance.now() - t);
  }
  if ((await admin.exists("authcache:ctx:{u:target%40corp.com}:jti-0")) !== 0)
    throw new Error("owner delete left an entry");
  for (let i = 0; i < n.scan; i++) {
    await writeReference();
    const t = performance.now();
    const deleted = await scanBaseline("target@corp.com");
    scan.push(performance.now() - t);
    if (deleted !== ENTRIES_PER_USER) throw new Error(`baseline deleted ${deleted}`);
  }
  const dbsize = await admin.dbsize();
  rows.push([
    size.toLocaleString("en"),
    String(dbsize),
    `${fmt(median(owner))} (n=${owner.length})`,
    `${fmt(median(scan))} (n=${scan.length})`,
    `${(median(scan) / median(owner)).toFixed(0)}×`,
    `${(filled / 1000).toFixed(1)} s`,
  ]);
  console.error(`done: ${size} unrelated keys`);
}

console.log(`# invalidate one user (${ENTRIES_PER_USER} entries) — ${new Date().toISOString()}`);
console.log(
  `bun ${Bun.version}, redis ${version}, ${cpus()[0]?.model ?? "?"} ×${cpus().length}, host ${hostname()}, ` +
    (pinned ? "bun on CPU 0, redis-server on CPU 1 (taskset)" : "unpinned (taskset unavailable)"),
);
console.log("");
console.log(
  "| unrelated keys | dbsize | owner index (median) | SCAN baseline (median) | ratio | fill |",
);
console.log("|---:|---:|---:|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);

await store.close();
await admin.quit();
await server.stop();
