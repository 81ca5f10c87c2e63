// What polling costs: idle queries per second and CPU per follower, and the latency from
// publish to delivery, on a `file:` database. Run: bun bench/polling.ts (from the package).
// Figures go into README.md by hand; nothing here is asserted. `followers: 0` is the
// process's baseline CPU with no bus at all.
import { cpus } from "node:os";
import { createClient } from "@libsql/client";
import { createLibsqlBus } from "../src/index.ts";
import { faulty, tempDir } from "../test/suite-options.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = tempDir();
const url = dir.url("polling.db");

/** Wraps a client to count the statements and batches it sends. */
function counted() {
  const real = createClient({ url });
  let calls = 0;
  const f = faulty(real);
  const client = new Proxy(f.client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "execute" || prop === "batch") {
        return (...args: unknown[]) => {
          calls++;
          return (value as (...a: unknown[]) => unknown)(...args);
        };
      }
      return value;
    },
  });
  return { client, calls: () => calls, close: () => real.close() };
}

async function idle(followers: number, pollIntervalMs: number, seconds: number) {
  const setups = Array.from({ length: followers }, () => counted());
  const buses = setups.map((s) => createLibsqlBus({ client: s.client, pollIntervalMs }));
  for (const bus of buses) {
    await bus.subscribe({ message: () => {}, reset: () => {}, caughtUp: () => {} });
  }
  await sleep(500);
  const calls0 = setups.reduce((n, s) => n + s.calls(), 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const calls = setups.reduce((n, s) => n + s.calls(), 0) - calls0;
  for (const bus of buses) await bus.close();
  for (const s of setups) s.close();
  return {
    followers,
    pollIntervalMs,
    queriesPerSecondPerFollower: followers === 0 ? 0 : calls / elapsed / followers,
    processCpuMsPerSecond: (cpu.user + cpu.system) / 1000 / elapsed,
  };
}

async function latency(pollIntervalMs: number, messages: number) {
  const publisher = createLibsqlBus({ url, tablePrefix: `lat${pollIntervalMs}_` });
  const followerClient = createClient({ url });
  const follower = createLibsqlBus({
    client: followerClient,
    tablePrefix: `lat${pollIntervalMs}_`,
    pollIntervalMs,
  });
  const sentAt = new Map<string, number>();
  const delays: number[] = [];
  await follower.subscribe({
    message(m) {
      if (m.type !== "user") return;
      const at = sentAt.get(m.email);
      if (at !== undefined) delays.push(performance.now() - at);
    },
    reset: () => {},
    caughtUp: () => {},
  });
  for (let i = 0; i < messages; i++) {
    await sleep(5 + Math.random() * pollIntervalMs * 1.5); // uncorrelated with the poll phase
    const email = `m${i}@x.com`;
    const before = performance.now();
    await publisher.publish({ type: "user", email });
    sentAt.set(email, before);
  }
  for (let i = 0; i < 100 && delays.length < messages; i++) await sleep(pollIntervalMs);
  await follower.close();
  followerClient.close();
  await publisher.close();
  delays.sort((a, b) => a - b);
  const q = (p: number) =>
    delays[Math.min(delays.length - 1, Math.floor(p * delays.length))] ?? NaN;
  return { pollIntervalMs, delivered: delays.length, p50: q(0.5), p99: q(0.99), max: q(1) };
}

const round = (o: Record<string, number>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 100) / 100]));

console.log(
  `# libSQL bus polling — ${new Date().toISOString()} — ${process.versions.bun ? `bun ${process.versions.bun}` : `node ${process.versions.node}`} — ${cpus()[0]?.model ?? "?"} x${cpus().length}`,
);
try {
  for (const [followers, interval] of [
    [0, 100],
    [1, 100],
    [10, 100],
    [1, 50],
  ] as const) {
    console.log("idle", round(await idle(followers, interval, 5)));
  }
  for (const interval of [100, 50, 20]) {
    console.log("latency ms", round(await latency(interval, 150)));
  }
} finally {
  dir.remove();
}
