/**
 * The peers, configured as two-tier caches over the same Redis as authcache: an in-process L1
 * in front of Redis, with their bus where they have one. Each factory returns a small uniform
 * face (get/set/delete/close) so scenarios can treat peers alike.
 */
import KeyvRedis from "@keyv/redis";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisBusDriver, redisDriver } from "bentocache/drivers/redis";
import { Cacheable, createKeyv } from "cacheable";
import { Redis } from "ioredis";

export interface PeerCache {
  readonly name: string;
  get(key: string): Promise<unknown>;
  /** Returns the cached value, or runs `factory` (the peer's own stampede protection applies). */
  getOrSet(key: string, factory: () => Promise<unknown>, ttlMs: number): Promise<unknown>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
}

/** bentocache: memory L1 (serialized by default, or storing the object), Redis L2, Redis bus. */
export function bentoTwoTier(
  target: RedisTarget,
  o: { serializeL1: boolean; prefix: string; l2Only?: boolean; bus?: boolean },
): PeerCache & { onBusReceived(listener: () => void): void } {
  const l2 = new Redis({ host: target.host, port: target.port, lazyConnect: false });
  const store = bentostore();
  if (!o.l2Only) store.useL1Layer(memoryDriver({ maxItems: 20_000, serialize: o.serializeL1 }));
  store.useL2Layer(redisDriver({ connection: l2 }));
  if (o.bus) store.useBus(redisBusDriver({ connection: { host: target.host, port: target.port } }));
  const bento = new BentoCache({ default: "c", prefix: o.prefix, stores: { c: store } });
  return {
    name: `bentocache${o.serializeL1 ? "" : " serialize:false"}`,
    onBusReceived: (listener) => {
      bento.on("bus:message:received", listener);
    },
    get: (key) => bento.get({ key }),
    getOrSet: (key, factory, ttlMs) => bento.getOrSet({ key, factory, ttl: ttlMs }),
    set: async (key, value, ttlMs) => {
      await bento.set({ key, value, ttl: ttlMs });
    },
    delete: async (key) => {
      await bento.delete({ key });
    },
    close: async () => {
      await bento.disconnectAll();
      l2.disconnect();
    },
  };
}

/** cacheable: @cacheable/memory primary (structuredClone on every hit by default), Redis
 *  secondary through @keyv/redis (node-redis, not ioredis). cacheable has no bus. */
export function cacheableTwoTier(
  target: RedisTarget,
  o: { useClone: boolean; namespace: string },
): PeerCache {
  const secondary = new KeyvRedis(`redis://${target.host}:${target.port}`);
  const cache = new Cacheable({
    primary: createKeyv({ useClone: o.useClone, lruSize: 20_000 }),
    secondary,
    namespace: o.namespace,
  });
  return {
    name: `cacheable${o.useClone ? "" : " useClone:false"}`,
    get: (key) => cache.get(key),
    getOrSet: (key, factory, ttlMs) => cache.getOrSet(key, factory, { ttl: ttlMs }),
    set: async (key, value, ttlMs) => {
      await cache.set(key, value, ttlMs);
    },
    delete: async (key) => {
      await cache.delete(key);
    },
    close: async () => {
      await cache.disconnect();
    },
  };
}
