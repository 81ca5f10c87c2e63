import type { Store } from "./contracts.ts";
import type { Guard } from "./guard.ts";
import type { KeyCodec } from "./key-codec.ts";
import type { L2Plan } from "./kind.ts";

/** The fences an L2 read records for the fill that may follow it. */
export interface ReadFences {
  readOk: boolean;
  revoked: boolean;
  fence: number;
  g: number;
  tg: number | undefined;
}

/**
 * One guarded `store.read` of an entry with everything judging it, in one round trip: the
 * entry, the global generation, the user's fence and the team generation (when the kind has
 * them), and the revoked-set check of its jti. Records them in `into`; returns the raw entry.
 * Throws on a failed call or a malformed reply.
 */
export async function readL2(
  store: Store,
  guard: Guard,
  codec: KeyCodec,
  into: ReadFences,
  l2: L2Plan,
): Promise<string | undefined> {
  const keys = [l2.key, codec.generation()];
  const fenceAt = l2.fenceKey === undefined ? -1 : keys.push(l2.fenceKey) - 1;
  const teamAt = l2.teamGenKey === undefined ? -1 : keys.push(l2.teamGenKey) - 1;
  const members =
    l2.revokedMember === undefined ? [] : [{ set: codec.revoked(), member: l2.revokedMember }];
  const r = await guard.call("read", () => store.read(keys, members));
  if (!Array.isArray(r?.values) || r.values.length !== keys.length) {
    throw new TypeError("read() returned the wrong number of values");
  }
  into.g = counter(r.values[1]);
  if (fenceAt >= 0) into.fence = counter(r.values[fenceAt]);
  if (teamAt >= 0) into.tg = counter(r.values[teamAt]);
  into.revoked = members.length > 0 && r.members?.[0] === true;
  into.readOk = true;
  const v = r.values[0];
  return typeof v === "string" ? v : undefined;
}

function counter(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`counter holds ${raw}`);
  return n;
}
