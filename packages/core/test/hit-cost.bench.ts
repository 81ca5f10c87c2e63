/**
 * L1 hit cost of getAuthContext against a bare Map.get + Date.now() expiry check on a pre-built
 * key (the issue-9 baseline, as in benchmarks/ l1-hit), same run; a Map whose key is built per
 * call is shown for reference. Run: bun packages/core/test/hit-cost.bench.ts (prints ns/op,
 * ratios and the load average: the figures only mean something on an idle machine).
 */
import { createAuthCache, silentLogger } from "../src/index.ts";

const KEYS = 10_000;
const OPS = 2_000_000;
const RUNS = 7;
const emails = Array.from({ length: KEYS }, (_, i) => `user${i}@example.com`);
const jtis = Array.from({ length: KEYS }, (_, i) => `jti-${i.toString(36)}-abcdef`);
// Pseudo-random order, generated before timing.
const order = new Uint32Array(OPS);
let seed = 12345;
for (let i = 0; i < OPS; i++) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  order[i] = seed % KEYS;
}

const ctxOf = (i: number) =>
  Object.freeze({
    user: Object.freeze({ email: emails[i] }),
    personalTeamId: `t${i}`,
    isTokenRevoked: false,
  });

const keys = emails.map((e, i) => `${e}:${jtis[i]}`);
const map = new Map<string, { value: unknown; expiresAt: number }>();
for (let i = 0; i < KEYS; i++) {
  map.set(keys[i] as string, { value: ctxOf(i), expiresAt: Date.now() + 3_600_000 });
}
const cache = createAuthCache({
  logger: silentLogger,
  l1: { maxEntries: 20_000 },
  ttl: { user: 3_600_000, revocation: 3_600_000, team: 3_600_000 },
});
for (let i = 0; i < KEYS; i++) await cache.setAuthContext(emails[i] ?? "", jtis[i], ctxOf(i));
// One revocation so the revoked-set check is not skipped as empty.
await cache.invalidateRevocation("some-other-jti");

let sink = 0;
function baseline(): number {
  const t0 = performance.now();
  for (let n = 0; n < OPS; n++) {
    const e = map.get(keys[order[n] as number] as string);
    if (e !== undefined && e.expiresAt > Date.now()) sink++;
  }
  return ((performance.now() - t0) * 1e6) / OPS;
}
function builtKey(): number {
  const t0 = performance.now();
  for (let n = 0; n < OPS; n++) {
    const i = order[n] as number;
    const e = map.get(`${emails[i]}:${jtis[i]}`);
    if (e !== undefined && e.expiresAt > Date.now()) sink++;
  }
  return ((performance.now() - t0) * 1e6) / OPS;
}
function sync(): number {
  const t0 = performance.now();
  for (let n = 0; n < OPS; n++) {
    const i = order[n] as number;
    if (cache.getAuthContextSync(emails[i] as string, jtis[i]) !== undefined) sink++;
  }
  return ((performance.now() - t0) * 1e6) / OPS;
}
function promiseNoAwait(): number {
  const t0 = performance.now();
  for (let n = 0; n < OPS; n++) {
    const i = order[n] as number;
    if (cache.getAuthContext(emails[i] as string, jtis[i]) !== undefined) sink++;
  }
  return ((performance.now() - t0) * 1e6) / OPS;
}
async function awaited(): Promise<number> {
  const t0 = performance.now();
  for (let n = 0; n < OPS; n++) {
    const i = order[n] as number;
    if ((await cache.getAuthContext(emails[i] as string, jtis[i])) !== undefined) sink++;
  }
  return ((performance.now() - t0) * 1e6) / OPS;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const r = {
  base: [] as number[],
  built: [] as number[],
  sync: [] as number[],
  promise: [] as number[],
  awaited: [] as number[],
};
for (let run = 0; run < RUNS; run++) {
  r.base.push(baseline());
  r.built.push(builtKey());
  r.sync.push(sync());
  r.promise.push(promiseNoAwait());
  r.awaited.push(await awaited());
}
const b = median(r.base);
const line = (name: string, v: number) =>
  console.log(`${name.padEnd(52)} ${v.toFixed(1).padStart(7)} ns/op  ${(v / b).toFixed(2)}x`);
const load = (await import("node:os")).loadavg().map((x) => x.toFixed(2));
console.log(`Bun ${Bun.version}, ${KEYS} keys, ${OPS} reads x ${RUNS} runs (median), load ${load}`);
line("Map.get pre-built key + expiresAt > Date.now()", b);
line("Map.get, key built per call (reference)", median(r.built));
line("getAuthContextSync (L1 hit)", median(r.sync));
line("getAuthContext, resolved promise not awaited", median(r.promise));
line("await getAuthContext (L1 hit)", median(r.awaited));
if (sink === 0) console.log("unreachable");
await cache.close();
