// A second process on a shared `file:` database, driven by store-and-bus.test.ts.
// Usage: bun worker.ts <mode> <url> <json options>. Prints one JSON object per line.
import { createAuthCache } from "@authcache/core";
import { createLibsqlBus, createLibsqlStore, isBusyError } from "../src/index.ts";

const [mode, url, raw] = process.argv.slice(2);
if (mode === undefined || url === undefined)
  throw new Error("usage: worker.ts <mode> <url> [json]");
const opts = JSON.parse(raw ?? "{}") as Record<string, unknown>;
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (mode === "write") {
  // Concurrent writes of every kind, started at an agreed time so both processes overlap.
  const id = String(opts.id);
  const rounds = Number(opts.rounds);
  const store = createLibsqlStore({ url });
  const bus = createLibsqlBus({ url });
  await sleep(Math.max(0, Number(opts.startAt) - Date.now()));
  const errors: string[] = [];
  let busy = 0;
  const guard = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      if (isBusyError(e)) busy++;
      errors.push(String(e));
    }
  };
  const far = Date.now() + 3_600_000;
  for (let r = 0; r < rounds; r++) {
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      const n = r * 10 + i;
      ops.push(store.set(`k:${id}:${n}`, `v${n}`, far, [`own:${id}`, "own:shared"]));
      ops.push(store.incr("gen:shared"));
      ops.push(store.setIfFence(`f:${id}:${n}`, "x", far, { key: `gen:${id}`, value: 0 }));
    }
    ops.push(store.addMember("revoked", `${id}-${r}`, far));
    ops.push(bus.publish({ type: "user", email: `${id}-${r}@x.com` }));
    await Promise.all(ops.map(guard));
  }
  say({ done: true, errors: errors.slice(0, 5), errorCount: errors.length, busy });
  await store.close();
  await bus.close();
} else if (mode === "follow") {
  // Follows the bus and reports every message with its arrival time; "stop@x.com" ends it.
  const bus = createLibsqlBus({ url, pollIntervalMs: Number(opts.pollIntervalMs ?? 100) });
  let confirmations = 0;
  await new Promise<void>((resolve) => {
    void bus.subscribe({
      message(m) {
        if (m.type === "user" && m.email === "stop@x.com") resolve();
        else say({ message: m, at: Date.now() });
      },
      reset() {
        say({ reset: true });
      },
      caughtUp() {
        if (++confirmations === 1) say({ ready: true });
      },
    });
  });
  say({ done: true, confirmations });
  await bus.close();
} else if (mode === "churn") {
  // A steady write load of short-lived entries; reports how many rows the tables hold.
  const store = createLibsqlStore({ url, pruneIntervalMs: Number(opts.pruneIntervalMs) });
  const rounds = Number(opts.rounds);
  for (let r = 0; r < rounds; r++) {
    const expires = Date.now() + Number(opts.ttlMs);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.set(`churn:${opts.id}:${r}:${i}`, "v", expires, [`own:${opts.id}:${r % 7}`]),
      ),
    );
    await store.addMember("revoked", `churn-${opts.id}-${r}`, expires);
    await sleep(Number(opts.stepMs));
  }
  say({ done: true });
  await store.close();
} else if (mode === "cache") {
  // An authcache instance on the shared file as L2 and bus. It caches alice's context (j1) in
  // L1, says "ready", then reads it in a bounded loop until it reads revoked, reporting the
  // start time of the last read that still answered "not revoked".
  const maxStaleMs = Number(opts.maxStaleMs);
  const store = createLibsqlStore({ url });
  const bus = createLibsqlBus({ url, pollIntervalMs: Number(opts.pollIntervalMs) });
  const cache = createAuthCache({ store, bus, maxStaleMs, logger: silent() });
  const ctx = { user: { email: "alice@x.com" }, personalTeamId: "t-alice", isTokenRevoked: false };
  await cache.setAuthContext("alice@x.com", "j1", ctx);
  await cache.setNotRevoked("j1");
  for (let i = 0; i < 500 && cache.stats().l1Hits === 0; i++) {
    await cache.getAuthContext("alice@x.com", "j1");
    await sleep(10);
  }
  say({ ready: true, l1Hits: cache.stats().l1Hits });
  let lastStale = 0;
  let reads = 0;
  let staleReads = 0;
  for (let i = 0; i < 20_000; i++) {
    const startedAt = Date.now();
    const got = await cache.getAuthContext("alice@x.com", "j1");
    const revoked = await cache.isTokenRevoked("j1");
    reads++;
    if (got?.isTokenRevoked === false || revoked === false) {
      lastStale = startedAt;
      staleReads++;
    } else if (got?.isTokenRevoked === true && revoked === true) {
      say({ seen: Date.now(), lastStale, reads, staleReads, l1Hits: cache.stats().l1Hits });
      break;
    }
    await sleep(2);
  }
  await cache.close();
  await store.close();
  await bus.close();
} else {
  throw new Error(`unknown mode ${mode}`);
}

function silent() {
  const nothing = () => {};
  return { debug: nothing, info: nothing, warn: nothing, error: nothing };
}
