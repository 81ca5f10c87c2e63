/** Cluster hash slots (CRC16/XMODEM of the key, or of its `{hash tag}`, modulo 16384), computed
 *  here so multi-key work can be grouped per slot before it reaches the client: nothing this
 *  adapter sends in cluster mode can then fail with CROSSSLOT. */

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

const encoder = new TextEncoder();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes)
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] as number);
  return crc;
}

/** The part of `key` that decides its slot: the first non-empty `{...}`, else the whole key. */
function hashPart(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** Returns the cluster hash slot (0..16383) of `key`. */
export function keySlot(key: string): number {
  return crc16(encoder.encode(hashPart(key))) % 16384;
}

/** Groups `keys` by slot, keeping first-seen order within each group. */
export function groupBySlot(keys: readonly string[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const key of keys) {
    const slot = keySlot(key);
    const group = groups.get(slot);
    if (group) group.push(key);
    else groups.set(slot, [key]);
  }
  return groups;
}
