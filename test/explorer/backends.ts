/**
 * The explorer on real servers: Redis (ioredis adapter), Valkey (valkey-glide adapter) and
 * libSQL (a file database), started by the test-servers harness on free loopback ports.
 *
 * These fleets run on the real clock (the adapters confirm with their own timers), with a
 * shorter bound (maxStaleMs 300) so a run takes seconds: "advance" waits for real. The faults
 * the memory log makes natively (a stalled follower, a trimmed log) are made by the bus
 * wrapper here. A failure still prints a seed and path, but a replay on a real clock is not
 * guaranteed to take the same interleaving; replay it a few times or on memory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLibsqlBus, createLibsqlStore } from "@authcache/adapter-libsql";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createValkeyBus, createValkeyStore } from "@authcache/adapter-valkey";
import type { InvalidationBus, Store } from "@authcache/core";
import { startServer, type TestServer } from "@authcache/test-servers";
import { Logger as GlideLogger } from "@valkey/valkey-glide";
import type { FaultyBus } from "./faults.ts";
import type { Backend } from "./run.ts";

export type RealKind = "redis" | "valkey" | "libsql";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RealServers {
  readonly redis: TestServer | undefined;
  readonly valkey: TestServer | undefined;
  readonly dir: string;
  stop(): Promise<void>;
}

/** Starts the servers the given kinds need (a missing binary fails loudly, from the harness). */
export async function startRealServers(kinds: readonly RealKind[]): Promise<RealServers> {
  const redis = kinds.includes("redis") ? await startServer("redis") : undefined;
  const valkey = kinds.includes("valkey") ? await startServer("valkey") : undefined;
  if (valkey !== undefined) GlideLogger.init("error");
  const dir = mkdtempSync(join(tmpdir(), "authcache-explorer-"));
  return {
    redis,
    valkey,
    dir,
    async stop() {
      await redis?.stop();
      await valkey?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let fleets = 0;

/** A fresh fleet namespace (key prefix, stream or table prefix) on `kind`, per run. */
export function realBackend(kind: RealKind, servers: RealServers): Backend {
  const tag = `x${process.pid}n${++fleets}`;
  const maxStaleMs = 300;
  const closers: (() => Promise<unknown>)[] = [];
  const connect = (): { store: Store; bus: InvalidationBus } => {
    switch (kind) {
      case "redis": {
        const url = (servers.redis as TestServer).url;
        return {
          store: createRedisStore({ url }),
          bus: createRedisBus({ url, stream: `${tag}:log`, confirmIntervalMs: 50 }),
        };
      }
      case "valkey": {
        const s = servers.valkey as TestServer;
        const addresses = [{ host: s.host, port: s.port }];
        return {
          store: createValkeyStore({ addresses }),
          bus: createValkeyBus({ addresses, stream: `${tag}:log`, confirmIntervalMs: 50 }),
        };
      }
      case "libsql": {
        const url = `file:${join(servers.dir, "explorer.db")}`;
        return {
          store: createLibsqlStore({ url, tablePrefix: `${tag}_` }),
          bus: createLibsqlBus({ url, tablePrefix: `${tag}_`, pollIntervalMs: 25 }),
        };
      }
    }
  };
  return {
    name: kind,
    maxStaleMs,
    now: Date.now,
    advance: (ms) => sleep(ms),
    // Real round trips: give every operation time to reach the point where it waits on us.
    settle: () => sleep(kind === "libsql" ? 20 : 8),
    connect() {
      const c = connect();
      closers.push(
        () => c.bus.close(),
        () => c.store.close(),
      );
      return { ...c, native: undefined };
    },
    async confirm(buses: readonly FaultyBus[]) {
      const since = buses.map((b) => b.confirmations);
      for (let i = 0; i < 100; i++) {
        if (buses.every((b, n) => b.cut || b.deaf || b.confirmations > (since[n] ?? 0) + 1)) return;
        await sleep(10);
      }
    },
    drainMs: 10_000,
    cacheOptions: {
      prefix: `${tag}:`,
      l2: { timeoutMs: 5_000, breaker: { failures: 5, resetMs: maxStaleMs } },
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}
