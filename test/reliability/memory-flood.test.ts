/**
 * Memory under a flood: one million distinct tokens through the gateway path (each one a miss,
 * a load and a fill), one in ten of them revoked with its token's expiry, plus a flood of
 * unknown tokens asked about: L1 stays at maxEntries, the revoked set follows only the live
 * revocations, and the heap ends where it started. Resident memory is printed before and after.
 */
import { expect, test } from "bun:test";
import { createAuthCache } from "@authcache/core";

const TOKENS = 1_000_000;
const MAX_ENTRIES = 10_000;
/** Each revoked token expires this long after it was issued (simulated clock: 1 ms per token). */
const TOKEN_LIFETIME_MS = 30_000;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function settle(): NodeJS.MemoryUsage {
  Bun.gc(true);
  return process.memoryUsage();
}

test("a flood of one million distinct tokens keeps L1 at maxEntries and the revoked set bounded", async () => {
  let clock = 1_700_000_000_000;
  const cache = createAuthCache({
    l1: { maxEntries: MAX_ENTRIES },
    now: () => clock,
    logger: silent,
  });
  // Warm the code paths before the baseline.
  for (let i = 0; i < 20_000; i++) {
    await cache.resolveAuthContext(`warm-${i}@x`, `warm-${i}`, () => ({
      user: { email: "w" },
      personalTeamId: null,
      isTokenRevoked: false,
    }));
  }
  const before = settle();
  let maxL1 = 0;
  let maxRevoked = 0;
  let loads = 0;
  for (let i = 0; i < TOKENS; i++) {
    clock += 1;
    const jti = `flood-${i}-${clock}`;
    const email = `user-${i % 50_000}@corp.com`;
    const ctx = await cache.resolveAuthContext(email, jti, () => {
      loads++;
      return { user: { email, active: true }, personalTeamId: `p-${i}`, isTokenRevoked: false };
    });
    if (ctx?.user?.email !== email) throw new Error(`wrong context for ${email}`);
    if (i % 10 === 0) await cache.invalidateRevocation(jti, clock + TOKEN_LIFETIME_MS);
    if (i % 10 === 5) await cache.isTokenRevoked(`never-seen-${i}`);
    if (i % 50_000 === 0) {
      const s = cache.stats();
      maxL1 = Math.max(maxL1, s.l1Size);
      maxRevoked = Math.max(maxRevoked, s.revokedCount);
    }
  }
  const s = cache.stats();
  maxL1 = Math.max(maxL1, s.l1Size);
  maxRevoked = Math.max(maxRevoked, s.revokedCount);
  const after = settle();
  console.log(
    `memory flood: ${TOKENS} distinct tokens (${TOKENS / 10} revoked, ${TOKENS / 10} unknown looked up); ` +
      `L1 max ${maxL1} / ${MAX_ENTRIES} entries (evictions ${s.l1Evictions}); revoked set max ${maxRevoked} live ` +
      `(of ${TOKENS / 10} revoked over the run); RSS before ${mb(before.rss)}, after ${mb(after.rss)}; ` +
      `heap used before ${mb(before.heapUsed)}, after ${mb(after.heapUsed)}`,
  );
  expect(loads).toBe(TOKENS);
  expect(maxL1).toBeLessThanOrEqual(MAX_ENTRIES);
  expect(s.l1Evictions).toBeGreaterThan(TOKENS / 2);
  // Live revocations at any moment: one per 10 ms of a 30 s lifetime = 3 000.
  expect(maxRevoked).toBeLessThanOrEqual(TOKEN_LIFETIME_MS / 10 + 1);
  // A revocation still in its lifetime holds; one past it is gone.
  expect(await cache.isTokenRevoked(`flood-${TOKENS - 10}-${clock - 9}`)).toBe(true);
  expect(await cache.isTokenRevoked(`flood-0-${1_700_000_000_000 + 20_001}`)).not.toBe(true);
  // Nothing proportional to the flood stayed behind: 1M tokens would be hundreds of MB.
  expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 1024 * 1024);
  await cache.close();
}, 120_000);
