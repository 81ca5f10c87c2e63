import {
  checkDurabilityReply,
  type DurabilityOptions,
  durabilityCommand,
  keysBySlot,
} from "@authcache/redis-protocol";
import type { GlideClient, GlideClusterClient } from "@valkey/valkey-glide";
import type { ValkeyClient } from "./connection.ts";

/**
 * After an invalidation write of `keys`: `WAIT` (or `WAITAOF`) on the connection that took it,
 * and a throw unless enough replicas acknowledged (see `@authcache/redis-protocol`'s
 * durability). In a cluster, one per slot touched, routed to that slot's primary (glide keeps
 * one connection per node, the write's).
 */
export async function waitDurable(
  client: ValkeyClient,
  clustered: boolean,
  keys: readonly string[],
  durability: DurabilityOptions | undefined,
): Promise<void> {
  if (durability === undefined || keys.length === 0) return;
  const command = durabilityCommand(durability);
  if (!clustered) {
    checkDurabilityReply(durability, await (client as GlideClient).customCommand(command));
    return;
  }
  await Promise.all(
    keysBySlot(keys).map(async (group) => {
      const reply = await (client as GlideClusterClient).customCommand(command, {
        route: { type: "primarySlotKey", key: group[0] as string },
      });
      checkDurabilityReply(durability, reply);
    }),
  );
}
