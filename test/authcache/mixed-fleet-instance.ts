// Instances of a fleet that mixes the two Redis adapters: each label (A, B, C) is built on
// ioredis (@authcache/adapter-redis) or valkey-glide (@authcache/adapter-valkey), on one server
// or a cluster. Every bus is left at its default log name, derived from the shared prefix: a
// mixed fleet is one fleet only if both adapters derive the same one.
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { createValkeyBus, createValkeyStore } from "@authcache/adapter-valkey";
import type { CreateFleetInstance } from "@authcache/conformance";

export type AdapterName = "ioredis" | "glide";

// Reconnect within tens of ms after an outage instead of glide's default backoff.
const glideConfig = { connectionBackoff: { numberOfRetries: 4, factor: 25, exponentBase: 2 } };

/** Builds A, B and C on the adapters named in `order` (A first). */
export function mixedInstance(order: readonly AdapterName[]): CreateFleetInstance {
  return (instance) => {
    const adapter = order["ABC".indexOf(instance.label)];
    const { cluster, nodes, busAddress, busUser, prefix } = instance;
    const seeds = nodes.map((n) => ({ host: n.host, port: n.port }));
    if (adapter === "ioredis") {
      const store = createRedisStore(cluster ? { nodes: seeds } : { ...instance.server });
      const bus = createRedisBus({
        ...(cluster ? { nodes: seeds } : { ...busAddress }),
        ...(busUser ? { redisOptions: { ...busUser } } : {}),
        prefix,
        confirmIntervalMs: 100,
      });
      return { store, bus };
    }
    if (adapter === "glide") {
      const store = createValkeyStore({ addresses: seeds, cluster, clientConfig: glideConfig });
      const bus = createValkeyBus({
        addresses: cluster ? seeds : [busAddress],
        cluster,
        clientConfig: { ...glideConfig, ...(busUser ? { credentials: { ...busUser } } : {}) },
        prefix,
        confirmIntervalMs: 100,
      });
      return { store, bus };
    }
    throw new Error(`mixed fleet: no adapter for ${instance.label} in ${order.join(",")}`);
  };
}
