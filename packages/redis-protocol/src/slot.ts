// The named export: the default one is `export =`, which strict ESM typing cannot default-import.
import { generateMulti } from "cluster-key-slot";

/**
 * Cluster hash slots, computed locally (CRC16/XMODEM of the key, or of its first non-empty
 * `{hash tag}`, modulo 16384, by `cluster-key-slot`, the module ioredis itself uses) so that
 * multi-key work is grouped per slot before it is sent: nothing an adapter sends to a cluster
 * can then fail with CROSSSLOT.
 */

/** Returns the cluster slot (0..16383) of `key`. */
export function keySlot(key: string): number {
  return generateMulti([key]);
}

/** Groups the positions of `keys` by slot, in first-seen order within each group; one group
 *  (slot 0) when `clustered` is false, since a standalone server takes any keys together. */
export function groupBySlot(keys: readonly string[], clustered = true): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const slot = clustered ? keySlot(keys[i] as string) : 0;
    const group = groups.get(slot);
    if (group) group.push(i);
    else groups.set(slot, [i]);
  }
  return groups;
}

/** Groups `keys` themselves by slot (see `groupBySlot`). */
export function keysBySlot(keys: readonly string[], clustered = true): string[][] {
  return [...groupBySlot(keys, clustered).values()].map((g) => g.map((i) => keys[i] as string));
}
