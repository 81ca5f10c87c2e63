// Attack on the issue-18 trust check (925f656, helper F): L1 is trusted while `now` is below a
// deadline precomputed at each confirmation. With real timers on the memory adapters: an
// instance whose follower stops confirming (a stalled connection: no error, no "down") may
// serve L1, through getAuthContextSync (the gateway's same-turn path) and getAuthContext, only
// within maxStaleMs of its last confirmation; a reported "down" (an interruption) stops it at
// once; close stops it; a confirmation after hearing again restores it with the change applied.
import { afterEach, expect, test } from "bun:test";
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { type AuthCache, createAuthCache } from "@authcache/core";
import { context, quiet } from "../support/fixtures.ts";

const MAX_STALE_MS = 200;
const opened: AuthCache[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

async function fleet() {
  const store = createMemoryStore();
  const busA = createMemoryBus({ confirmIntervalMs: 20 });
  const busB = busA.connect();
  const a = createAuthCache({ store, bus: busA, maxStaleMs: MAX_STALE_MS, logger: quiet });
  const b = createAuthCache({ store, bus: busB, maxStaleMs: MAX_STALE_MS, logger: quiet });
  opened.push(a, b);
  await until("both trusted", () => a.stats().l1Trusted && b.stats().l1Trusted);
  return { a, b, busB };
}

async function until(what: string, check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await Bun.sleep(2);
  }
}

test("a stalled follower: L1 answers (sync and async) only within maxStaleMs of the last confirmation, then the revocation is read from L2", async () => {
  const { a, b, busB } = await fleet();
  const email = "stall@example.com";
  await b.setAuthContext(email, "j1", context(email));
  expect(b.getAuthContextSync(email, "j1")?.isTokenRevoked).toBe(false); // an L1 hit
  busB.setDeaf(true);
  const stalledAt = Date.now();
  await a.invalidateRevocation("j1", Date.now() + 600_000);
  // Poll B's same-turn path until it stops answering from L1; it must stop by maxStaleMs after
  // the last confirmation, which came before the stall.
  // A confirmation is dated by its read's sending, so the last one is before `stalledAt`: an L1
  // answer to a call begun at `before` means before < stalledAt + maxStaleMs (no slack needed).
  let lastL1Call = Number.NEGATIVE_INFINITY;
  for (;;) {
    const before = Date.now();
    if (b.getAuthContextSync(email, "j1")?.isTokenRevoked !== false) break;
    lastL1Call = before;
    if (before - stalledAt > MAX_STALE_MS * 5) break;
    await Bun.sleep(1);
  }
  expect(lastL1Call).toBeLessThan(stalledAt + MAX_STALE_MS);
  expect(b.stats().l1Trusted).toBe(false);
  // Untrusted: the async read goes to L2, which has the revocation.
  expect((await b.getAuthContext(email, "j1"))?.isTokenRevoked).toBe(true);
  busB.setDeaf(false);
  await until("B trusted again", () => b.stats().l1Trusted);
  expect(b.getAuthContextSync(email, "j1")?.isTokenRevoked).toBe(true);
});

test("an interruption ('down') stops L1 at once, and close stops it for good", async () => {
  const { b, busB } = await fleet();
  const email = "down@example.com";
  await b.setAuthContext(email, "j2", context(email));
  expect(b.getAuthContextSync(email, "j2")).toBeDefined();
  busB.interrupt(100);
  // The follower's read fails at once; its "down" reaches the cache a few promise hops later.
  await until("B hears down", () => !b.stats().l1Trusted, 20);
  expect(b.getAuthContextSync(email, "j2")).toBeUndefined();
  await until("B trusted again", () => b.stats().l1Trusted);
  await b.setAuthContext(email, "j2", context(email));
  expect(b.getAuthContextSync(email, "j2")).toBeDefined();
  await b.close();
  expect(b.stats().l1Trusted).toBe(false);
  expect(b.getAuthContextSync(email, "j2")).toBeUndefined();
});
