/**
 * authcache's backends as the benchmarks open them: one store and one bus per cache instance
 * (as separate processes would have), except memory, where instances share the in-process store
 * and bus (that is how one process simulates a fleet).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuthCacheLike, type Loaded, loadCreateAuthCache, loadExports } from "./core.ts";
import type { Context } from "./types.ts";

export type BackendKind = "memory" | "redis" | "valkey" | "libsql";
export const BACKENDS: readonly BackendKind[] = ["memory", "redis", "valkey", "libsql"];

interface Closable {
  close(): Promise<void>;
}

type Factory = (options: Record<string, unknown>) => Closable & { readonly name: string };

export interface Fleet {
  readonly kind: BackendKind;
  /** A new cache instance with its own store and bus connections (memory: shared objects).
   *  `onMessage` is told of every log entry this instance's follower has just applied. */
  newCache(
    options?: Record<string, unknown>,
    onMessage?: (message: { type: string; jti?: string }) => void,
  ): Promise<AuthCacheLike>;
  /** A store on the same backend, outside any cache (to write unrelated keys, count entries). */
  rawStore(): Promise<Closable & Record<string, unknown>>;
  /** Closes every cache and every store/bus this fleet opened, and removes temp files. */
  close(): Promise<void>;
  /** Where the data lives (a URL or a file path), for notes. */
  readonly where: string;
}

const PKG: Record<BackendKind, { pkg: string; store: string; bus: string }> = {
  memory: { pkg: "@authcache/adapter-memory", store: "createMemoryStore", bus: "createMemoryBus" },
  redis: { pkg: "@authcache/adapter-redis", store: "createRedisStore", bus: "createRedisBus" },
  valkey: { pkg: "@authcache/adapter-valkey", store: "createValkeyStore", bus: "createValkeyBus" },
  libsql: { pkg: "@authcache/adapter-libsql", store: "createLibsqlStore", bus: "createLibsqlBus" },
};

export interface FleetOptions {
  /** Key prefix, so scenarios sharing a server never see each other's keys. */
  readonly prefix: string;
  /** Bus confirmation / poll interval in ms (the adapters' default is 250). */
  readonly confirmIntervalMs?: number;
  /** Without a bus (a single instance): L1 capped at maxStaleMs when a store is present. */
  readonly noBus?: boolean;
}

/** Opens a backend for authcache, or says why it cannot (package or export not there yet). */
export async function openFleet(
  ctx: Context,
  kind: BackendKind,
  o: FleetOptions,
): Promise<Loaded<Fleet>> {
  const create = await loadCreateAuthCache();
  if (!create.ok) return create;
  const spec = PKG[kind];
  const mod = await loadExports<Record<string, Factory>>(spec.pkg, [spec.store, spec.bus]);
  if (!mod.ok) return mod;
  const makeStore = mod.value[spec.store] as Factory;
  const makeBus = mod.value[spec.bus] as Factory;
  const opened: Closable[] = [];
  const caches: AuthCacheLike[] = [];
  let dir: string | undefined;
  let connection: Record<string, unknown>;
  let where: string;
  if (kind === "redis" || kind === "valkey") {
    const s = await ctx.server(kind);
    // ioredis takes a URL; valkey-glide takes seed addresses.
    connection =
      kind === "redis" ? { url: s.url } : { addresses: [{ host: s.host, port: s.port }] };
    where = s.url;
  } else if (kind === "libsql") {
    dir = mkdtempSync(join(tmpdir(), "authcache-bench-libsql-"));
    where = join(dir, "cache.db");
    connection = { url: `file:${where}` };
  } else {
    connection = {};
    where = "in-process";
  }
  const interval = o.confirmIntervalMs;
  const busOptions =
    kind === "libsql"
      ? { ...connection, ...(interval ? { pollIntervalMs: interval } : {}) }
      : { ...connection, ...(interval ? { confirmIntervalMs: interval } : {}) };
  // Memory: one store and one bus for every instance of the fleet; the bus is given the store
  // (as a deployment would), so a revocation's writes travel with its entry (ordered publish).
  const sharedStore = kind === "memory" ? makeStore({}) : undefined;
  const shared =
    sharedStore !== undefined
      ? {
          store: sharedStore,
          bus: o.noBus ? undefined : makeBus({ ...busOptions, store: sharedStore }),
        }
      : undefined;
  if (shared) opened.push(shared.store, ...(shared.bus ? [shared.bus] : []));
  const fleet: Fleet = {
    kind,
    where,
    async newCache(extra = {}, onMessage) {
      let store: Closable;
      let bus: Closable | undefined;
      if (shared) {
        store = shared.store;
        bus = shared.bus;
      } else {
        store = makeStore({ ...connection });
        opened.push(store);
        if (!o.noBus) {
          bus = makeBus(busOptions);
          opened.push(bus);
        }
      }
      if (bus && onMessage) bus = observe(bus, onMessage);
      const cache = create.value({
        store,
        ...(bus ? { bus } : {}),
        prefix: o.prefix,
        ...extra,
      });
      caches.push(cache);
      return cache;
    },
    async rawStore() {
      const s = shared ? shared.store : makeStore({ ...connection });
      if (!shared) opened.push(s);
      return s as unknown as Closable & Record<string, unknown>;
    },
    async close() {
      for (const c of caches.splice(0)) await c.close().catch(() => {});
      for (const c of opened.splice(0).reverse()) await c.close().catch(() => {});
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return { ok: true, value: fleet };
}

interface Handlers {
  message(m: { type: string; jti?: string }): void;
  reset(): void;
  caughtUp(at: number): void;
}

/** The same bus, but the subscriber's message handler reports each entry after applying it:
 *  the moment an instance's L1 has taken an invalidation in. */
function observe(
  bus: Closable,
  onMessage: (message: { type: string; jti?: string }) => void,
): Closable {
  return new Proxy(bus, {
    get(target, prop) {
      if (prop === "subscribe") {
        return (h: Handlers) =>
          (target as unknown as { subscribe(h: Handlers): Promise<unknown> }).subscribe({
            message: (m) => {
              h.message(m);
              onMessage(m);
            },
            reset: () => h.reset(),
            caughtUp: (at) => h.caughtUp(at),
          });
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
