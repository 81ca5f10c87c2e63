/**
 * One fleet shape on every backend we ship: caches that share one store and one log (memory,
 * Redis through ioredis, Valkey through glide, libSQL on a file), plus a raw view of the log
 * (what a reader of the log sees) for the tests about what log entries carry.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLibsqlBus, createLibsqlStore } from "@authcache/adapter-libsql";
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createValkeyBus, createValkeyStore } from "@authcache/adapter-valkey";
import {
  type AuthCache,
  type AuthCacheOptions,
  createAuthCache,
  type InvalidationBus,
  silentLogger,
} from "@authcache/core";
import { encodeMessage } from "@authcache/core/adapter";
import { startServer, type TestServer } from "@authcache/test-servers";
import { createClient } from "@libsql/client";
import { Logger as GlideLogger } from "@valkey/valkey-glide";
import { Redis } from "ioredis";

export type BackendKind = "memory" | "redis" | "valkey" | "libsql";
export const BACKENDS: readonly BackendKind[] = ["memory", "redis", "valkey", "libsql"];

export interface BackendFleet {
  readonly kind: BackendKind;
  /** A new instance on the shared store and log (options are added to the fleet's own). */
  instance(options?: AuthCacheOptions): AuthCache;
  /** Every entry of the log as stored (the encoded string), oldest first. */
  rawLog(): Promise<string[]>;
  close(): Promise<void>;
}

/** The servers of one test file: started once, on free loopback ports. */
export interface Servers {
  redis: TestServer;
  valkey: TestServer;
  stop(): Promise<void>;
}

export async function startServers(): Promise<Servers> {
  const [redis, valkey] = await Promise.all([startServer("redis"), startServer("valkey")]);
  GlideLogger.init("error");
  return {
    redis,
    valkey,
    async stop() {
      await Promise.all([redis.stop(), valkey.stop()]);
    },
  };
}

let fleets = 0;

/** A fleet on `kind`, isolated from every other fleet of the process by its prefix and log. */
export function openFleet(
  kind: BackendKind,
  servers: Servers,
  base: AuthCacheOptions = {},
): BackendFleet {
  const tag = `f${process.pid}x${++fleets}`;
  const prefix = `${tag}:`;
  const closers: (() => Promise<unknown>)[] = [];
  const common: AuthCacheOptions = { prefix, logger: silentLogger, maxStaleMs: 1_000, ...base };
  let instance: (options?: AuthCacheOptions) => AuthCache;
  let rawLog: () => Promise<string[]>;
  const make = (
    store: AuthCacheOptions["store"],
    bus: InvalidationBus,
    options: AuthCacheOptions,
  ) => {
    const cache = createAuthCache({ ...common, ...options, store, bus });
    closers.push(() => cache.close());
    return cache;
  };
  switch (kind) {
    case "memory": {
      const store = createMemoryStore();
      const bus = createMemoryBus({ confirmIntervalMs: 50 });
      const published: string[] = [];
      closers.push(
        () => bus.close(),
        () => store.close(),
      );
      instance = (options = {}) => {
        const view = bus.connect();
        closers.push(() => view.close());
        // The memory log keeps entries as encodeMessage wrote them: record the same string.
        const recorded: InvalidationBus = {
          name: view.name,
          get dropped() {
            return view.dropped;
          },
          publish: async (m) => {
            await view.publish(m);
            published.push(encodeMessage(m));
          },
          subscribe: (h) => view.subscribe(h),
          onState: (l) => view.onState(l),
          close: () => view.close(),
        };
        return make(store, recorded, options);
      };
      rawLog = async () => [...published];
      break;
    }
    case "redis":
    case "valkey": {
      const server = kind === "redis" ? servers.redis : servers.valkey;
      const stream = `${tag}:log`;
      const address = [{ host: server.host, port: server.port }];
      // The Stream's key: the bus names it (`{<stream>}:entries`), or it is `stream` itself.
      let streamKey = stream;
      instance = (options = {}) => {
        const store =
          kind === "redis"
            ? createRedisStore({ url: server.url })
            : createValkeyStore({ addresses: address });
        const bus =
          kind === "redis"
            ? createRedisBus({ url: server.url, stream, confirmIntervalMs: 150 })
            : createValkeyBus({ addresses: address, stream, confirmIntervalMs: 150 });
        streamKey = (bus as { log?: { entries?: string } }).log?.entries ?? stream;
        closers.push(
          () => bus.close(),
          () => store.close(),
        );
        return make(store, bus, options);
      };
      rawLog = async () => {
        const raw = new Redis({ host: server.host, port: server.port, lazyConnect: true });
        try {
          await raw.connect();
          const entries = await raw.xrange(streamKey, "-", "+");
          return entries.map(([, fields]) => fields[fields.indexOf("m") + 1] ?? "");
        } finally {
          raw.disconnect();
        }
      };
      break;
    }
    case "libsql": {
      const dir = mkdtempSync(join(tmpdir(), "authcache-log-"));
      const url = `file:${join(dir, "cache.db")}`;
      closers.push(async () => rmSync(dir, { recursive: true, force: true }));
      instance = (options = {}) => {
        const store = createLibsqlStore({ url });
        const bus = createLibsqlBus({ url, pollIntervalMs: 25 });
        closers.push(
          () => bus.close(),
          () => store.close(),
        );
        return make(store, bus, options);
      };
      rawLog = async () => {
        const db = createClient({ url });
        try {
          const rs = await db.execute("SELECT message FROM authcache_log ORDER BY id");
          return rs.rows.map((r) => String(r.message));
        } finally {
          db.close();
        }
      };
      break;
    }
  }
  return {
    kind,
    instance,
    rawLog,
    async close() {
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}
