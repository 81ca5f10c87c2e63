// Three AuthCaches sharing one Redis server, each on its own connections, one of them in a
// separate process: revocations and invalidations reach every instance within maxStaleMs,
// an instance whose bus is cut stops trusting its L1, and everything recovers by itself after
// the server is killed and restarted. Waits are bounded loops; the only sleeps are of
// maxStaleMs, after which the staleness bound says the answer must already be right.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type AuthCache, createAuthCache, silentLogger } from "@authcache/core";
import { startServer, type TestServer } from "@authcache/test-servers";
import { createRedisBus, createRedisStore } from "../src/index.ts";
import { startProxy, type TcpProxy } from "./tcp-proxy.js";

const MAX_STALE_MS = 600;
const stream = `fleet:${crypto.randomUUID()}`;
const prefix = `fleet${Date.now().toString(36)}:`;

/** What the tests need of an instance, in-process or not. */
interface Peer {
  readonly label: string;
  call(method: string, ...args: unknown[]): Promise<unknown>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

let server: TestServer;
let proxy: TcpProxy;
const peers: Peer[] = [];
const opened: { close(): Promise<void> }[] = [];

function localPeer(label: string, cache: AuthCache): Peer {
  const methods = cache as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    label,
    call: async (method, ...args) =>
      (methods[method] as (...a: unknown[]) => unknown).apply(cache, args),
    stats: async () => ({ ...cache.stats() }),
    close: () => cache.close(),
  };
}

async function processPeer(label: string): Promise<Peer> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(import.meta.dir, "fleet-worker.ts"), server.url, stream, prefix, String(MAX_STALE_MS)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  let ready: (reply: Record<string, unknown>) => void = () => {};
  const started = new Promise<Record<string, unknown>>((r) => {
    ready = r;
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const reply = JSON.parse(line) as Record<string, unknown>;
    if (reply.ready) return ready(reply);
    pending.get(reply.id as number)?.(reply);
    pending.delete(reply.id as number);
  });
  let next = 0;
  const call = (method: string, ...args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++next;
      pending.set(id, (reply) => {
        if ("error" in reply) reject(new Error(`${label}: ${reply.error}`));
        else resolve(reply.undefined ? undefined : reply.result);
      });
      child.stdin?.write(`${JSON.stringify({ id, method, args })}\n`);
    });
  const first = await started;
  expect(first.busState).toBe("up");
  return {
    label,
    call,
    stats: async () => (await call("stats")) as Record<string, unknown>,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      await call("close").catch(() => {});
      await Promise.race([exited, Bun.sleep(3000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}

/** Polls `check` up to `attempts` times, 20 ms apart; fails with `what` if it never holds. */
async function until(what: string, check: () => Promise<boolean>, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting until ${what}`);
}

const ctxOf = (email: string) => ({
  user: { email, name: "A" },
  personalTeamId: "p1",
  isTokenRevoked: false,
});

beforeAll(async () => {
  server = await startServer("redis");
  proxy = await startProxy({ host: server.host, port: server.port });
  const cacheOn = (label: string, busVia: { host: string; port: number }) => {
    const store = createRedisStore({ url: server.url });
    const bus = createRedisBus({ ...busVia, stream, confirmIntervalMs: 100 });
    opened.push(bus, store);
    const cache = createAuthCache({
      store,
      bus,
      prefix,
      maxStaleMs: MAX_STALE_MS,
      logger: silentLogger,
    });
    return localPeer(label, cache);
  };
  peers.push(cacheOn("A", { host: server.host, port: server.port }));
  // B's bus goes through a proxy, so the test can cut it while B's store stays connected.
  peers.push(cacheOn("B", { host: proxy.host, port: proxy.port }));
  peers.push(await processPeer("C (own process)"));
  for (const p of peers)
    await until(`${p.label} follows the bus`, async () => (await p.stats()).busState === "up");
}, 30_000);

afterAll(async () => {
  for (const p of peers) await p.close();
  for (const o of opened.reverse()) await o.close();
  await proxy?.close();
  await server?.stop();
});

const at = (i: number) => ({
  get peer(): Peer {
    return peers[i] as Peer;
  },
});
const A = at(0);
const B = at(1);
const C = at(2);

test("a revocation on one instance is seen by the others within maxStaleMs", async () => {
  const email = "rev@x.com";
  for (const { peer } of [A, B, C]) {
    await peer.call("setAuthContext", email, "j-rev", ctxOf(email));
    // Served from L1 before the revocation: the later answer cannot come from a cold L1.
    const before = (await peer.stats()).l1Hits as number;
    expect(await peer.call("getAuthContext", email, "j-rev")).toEqual(ctxOf(email));
    expect((await peer.stats()).l1Hits).toBe(before + 1);
  }
  await A.peer.call("invalidateRevocation", "j-rev");
  await Bun.sleep(MAX_STALE_MS);
  for (const { peer } of [B, C]) {
    const ctx = (await peer.call("getAuthContext", email, "j-rev")) as { isTokenRevoked: boolean };
    expect(ctx.isTokenRevoked).toBe(true);
    expect(await peer.call("isTokenRevoked", "j-rev")).toBe(true);
  }
});

test("invalidateUser on one instance drops the user everywhere within maxStaleMs", async () => {
  const email = "user@x.com";
  for (const { peer } of [A, B, C]) {
    await peer.call("setUser", email, { email, role: "admin" });
    await peer.call("setUserRole", email, "t1", "owner");
    expect(await peer.call("getUserRole", email, "t1")).toBe("owner");
  }
  await C.peer.call("invalidateUser", email);
  await C.peer.call("invalidateUserRole", email, "t1");
  await Bun.sleep(MAX_STALE_MS);
  for (const { peer } of [A, B, C]) {
    expect(await peer.call("getUser", email)).toBeUndefined();
    expect(await peer.call("getUserRole", email, "t1")).toBeUndefined();
  }
});

test("with its bus cut, an instance serves nothing from L1; once reconnected it does again", async () => {
  const email = "cut@x.com";
  await B.peer.call("setAuthContext", email, "j-cut", ctxOf(email));
  await B.peer.call("setUserRole", email, "t1", "member");
  let s = await B.peer.stats();
  expect(await B.peer.call("getAuthContext", email, "j-cut")).toEqual(ctxOf(email));
  expect((await B.peer.stats()).l1Hits).toBe((s.l1Hits as number) + 1);

  proxy.pause(); // B's follower loses its connection; reconnects hang until resume
  try {
    await until("B's bus is down", async () => (await B.peer.stats()).busState === "down");
    await Bun.sleep(MAX_STALE_MS);
    s = await B.peer.stats();
    expect(await B.peer.call("getAuthContext", email, "j-cut")).toEqual(ctxOf(email));
    expect(await B.peer.call("getUserRole", email, "t1")).toBe("member");
    const after = await B.peer.stats();
    expect(after.l1Hits).toBe(s.l1Hits); // both answers came from L2, none from L1
    expect(after.l2Hits).toBe((s.l2Hits as number) + 2);
    // A revocation B's bus never delivers still reaches B: through L2, on every read.
    await A.peer.call("invalidateRevocation", "j-cut");
    const ctx = (await B.peer.call("getAuthContext", email, "j-cut")) as {
      isTokenRevoked: boolean;
    };
    expect(ctx.isTokenRevoked).toBe(true);
  } finally {
    proxy.resume();
  }
  await until("B's bus is up again", async () => (await B.peer.stats()).busState === "up");
  await B.peer.call("setUserRole", email, "t2", "member");
  await until("B serves from L1 again", async () => {
    const before = (await B.peer.stats()).l1Hits as number;
    await B.peer.call("getUserRole", email, "t2");
    return (await B.peer.stats()).l1Hits === before + 1;
  });
});

test("after the server is killed and restarted, every instance recovers by itself", async () => {
  const email = "restart@x.com";
  await server.kill();
  // While the server is down: misses (never a throw) and invalidations that report failure.
  expect(await A.peer.call("getUser", email)).toBeUndefined();
  await expect(A.peer.call("invalidateUser", email)).rejects.toThrow();
  await until("every bus is down", async () => {
    for (const { peer } of [A, B, C]) if ((await peer.stats()).busState !== "down") return false;
    return true;
  });
  await server.restart();
  await until("every bus is up and every L2 healthy", async () => {
    for (const { peer } of [A, B, C]) {
      // A read lets a half-open breaker probe the server again.
      await peer.call("getUser", email);
      const st = await peer.stats();
      if (st.busState !== "up" || st.l2Healthy !== true) return false;
    }
    return true;
  });
  for (const { peer } of [A, B, C])
    await peer.call("setAuthContext", email, "j-back", ctxOf(email));
  await B.peer.call("invalidateRevocation", "j-back");
  await Bun.sleep(MAX_STALE_MS);
  for (const { peer } of [A, C]) {
    const ctx = (await peer.call("getAuthContext", email, "j-back")) as { isTokenRevoked: boolean };
    expect(ctx.isTokenRevoked).toBe(true);
  }
  // And L1 is trusted again: a fresh entry is served without L2.
  await C.peer.call("setUser", email, { email });
  const before = (await C.peer.stats()).l1Hits as number;
  expect(await C.peer.call("getUser", email)).toEqual({ email });
  expect((await C.peer.stats()).l1Hits).toBe(before + 1);
}, 60_000);
