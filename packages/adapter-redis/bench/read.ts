/**
 * What one L2 read costs against a raw GET, sequential (one call in flight), on one connection:
 *   GET (raw)                — ioredis `GET` of a ~250 B value: the floor;
 *   store.read, context      — the read core makes on an L1 miss of a context: the entry, the
 *                              user's fence, `gen:all` and one revoked-set check (MGET + ZSCORE,
 *                              one write);
 *   store.read, no member    — the read of every other kind (one MGET);
 *   previous Lua read        — the script this adapter ran before (GETs, TIME and ZSCORE in one
 *                              EVALSHA), kept here only as the baseline;
 *   getAuthContext           — a whole L1 miss → L2 hit through core (read, decode, copy, L1 fill).
 * The cases run interleaved in batches so that machine noise falls on all of them alike.
 *
 * Run: bun packages/adapter-redis/bench/read.ts   (a script, not a test)
 * Pins bun to CPU 0 and redis-server to CPU 1 with taskset when available. Prints medians.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { createAuthCache } from "@authcache/core";
import { startServer } from "@authcache/test-servers";
import { Redis } from "ioredis";
import { createRedisStore } from "../src/index.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 50);
const BATCH = 200;
const TOTAL = ROUNDS * BATCH;

const PREVIOUS_READ = `local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do out[i] = redis.call('GET', KEYS[i]) end
if #KEYS > n then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  for j = 1, #KEYS - n do
    local s = redis.call('ZSCORE', KEYS[n + j], ARGV[1 + j])
    out[n + j] = (s and tonumber(s) > now) and 1 or 0
  end
end
return out`;

function pin(pid: number, cpu: number): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const server = await startServer("redis");
const pinned = pin(process.pid, 0) && server.pid !== undefined && pin(server.pid, 1);
const client = new Redis({ host: server.host, port: server.port });
const sha = (await client.script("LOAD", PREVIOUS_READ)) as string;
const store = createRedisStore({ client });
const writerStore = createRedisStore({ url: server.url });
const writer = createAuthCache({ store: writerStore, prefix: "rb:" });
const readerStore = createRedisStore({ url: server.url });
const reader = createAuthCache({ store: readerStore, prefix: "rb:" });

const context = (i: number) => ({
  user: {
    email: `user${i}@example.com`,
    fullName: `User Number ${i}`,
    isAdmin: false,
    isActive: true,
    authProvider: "local",
    createdAt: "2026-01-01T00:00:00.000Z",
  },
  personalTeamId: `team-personal-${i}`,
  isTokenRevoked: false,
});
const envelope = (i: number) => JSON.stringify({ v: 1, k: "ctx", g: 0, x: context(i) });
const entry = (i: number) => `rb:ctx:{u:u${i}%40x.com}:j${i}`;
const fence = (i: number) => `rb:gen:{u:u${i}%40x.com}`;
const exp = Date.now() + 3_600_000;
for (let start = 0; start < TOTAL; start += 500) {
  const p = client.pipeline();
  for (let i = start; i < Math.min(TOTAL, start + 500); i++) {
    p.set(`raw:${i}`, envelope(i));
    p.set(entry(i), envelope(i), "PXAT", exp);
  }
  await p.exec();
  await Promise.all(
    Array.from({ length: Math.min(500, TOTAL - start) }, (_, j) =>
      writer.setAuthContext(`u${start + j}@x.com`, `j${start + j}`, context(start + j)),
    ),
  );
}
await store.addMember("rb:revoked", "someone-else", exp);

const cases: [string, (i: number) => Promise<unknown>][] = [
  ["GET (raw)", (i) => client.get(`raw:${i}`)],
  [
    "store.read, context (MGET + ZSCORE)",
    (i) => store.read([entry(i), "rb:gen:all", fence(i)], [{ set: "rb:revoked", member: `j${i}` }]),
  ],
  ["store.read, no member check (MGET)", (i) => store.read([entry(i), "rb:gen:all", fence(i)], [])],
  [
    "previous Lua read (EVALSHA)",
    (i) => client.evalsha(sha, 4, entry(i), "rb:gen:all", fence(i), "rb:revoked", 3, `j${i}`),
  ],
  [
    "getAuthContext, L1 miss → L2 hit",
    async (i) => {
      if ((await reader.getAuthContext(`u${i}@x.com`, `j${i}`)) === undefined)
        throw new Error("unexpected miss");
    },
  ],
];

const p50s = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of cases) {
    const times: number[] = [];
    for (let j = 0; j < BATCH; j++) {
      const t = performance.now();
      await run(round * BATCH + j);
      times.push((performance.now() - t) * 1000);
    }
    p50s.get(name)?.push(median(times));
  }
}

const floor = median(p50s.get("GET (raw)") ?? []);
console.log(`# one L2 read, sequential — ${new Date().toISOString()}`);
console.log(
  `bun ${Bun.version}, ${cpus()[0]?.model ?? "?"} ×${cpus().length}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}, ` +
    (pinned ? "bun on CPU 0, redis-server on CPU 1 (taskset)" : "unpinned (taskset unavailable)"),
);
console.log(`${ROUNDS} rounds × ${BATCH} reads per case, interleaved; median of the rounds' p50`);
console.log("");
console.log("| case | p50 µs | ÷ GET |");
console.log("|---|---:|---:|");
for (const [name] of cases) {
  const v = median(p50s.get(name) ?? []);
  console.log(`| ${name} | ${v.toFixed(1)} | ${(v / floor).toFixed(2)}× |`);
}

await reader.close();
await writer.close();
await readerStore.close();
await writerStore.close();
client.disconnect();
await server.stop();
