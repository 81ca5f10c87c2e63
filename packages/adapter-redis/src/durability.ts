import {
  checkDurabilityReply,
  type DurabilityOptions,
  durabilityCommand,
  keysBySlot,
} from "@authcache/redis-protocol";
import type { RedisClient } from "./connection.ts";

/**
 * After an invalidation write of the given keys: `WAIT` (or `WAITAOF`) on the connection that took it,
 * and a throw unless enough replicas acknowledged (see `@authcache/redis-protocol`'s
 * durability). In a cluster, one per slot touched, each as a pipeline whose one keyed command
 * sends it to that slot's master (ioredis keeps one connection per node, the write's).
 */
export async function waitDurable(
  client: RedisClient,
  clustered: boolean,
  keys: readonly string[],
  durability: DurabilityOptions | undefined,
): Promise<void> {
  if (durability === undefined || keys.length === 0) return;
  const command = durabilityCommand(durability) as [string, ...string[]];
  if (!clustered) {
    checkDurabilityReply(durability, await client.call(...command));
    return;
  }
  await Promise.all(
    keysBySlot(keys).map(async (group) => {
      const pipeline = client.pipeline();
      pipeline.exists(group[0] as string);
      pipeline.call(...command);
      const replies = (await pipeline.exec()) ?? [];
      const [error, reply] = replies[1] ?? [new Error("no reply to WAIT"), undefined];
      if (error) throw error;
      checkDurabilityReply(durability, reply);
    }),
  );
}
