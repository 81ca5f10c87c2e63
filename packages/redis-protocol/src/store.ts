import type { Fence, MemberCheck, ReadResult } from "@authcache/core/adapter";
import type { ScriptName } from "./scripts.ts";
import { groupBySlot, keySlot, keysBySlot } from "./slot.ts";

/**
 * The store layout and its rules, the same for every client. Key names come from core (its key
 * codec puts a user's keys under one `{hash tag}`); what a key holds is decided here:
 *
 * | what               | type                     | lifetime                                   |
 * |--------------------|--------------------------|--------------------------------------------|
 * | entry              | string (the envelope)    | `PXAT` deadline                            |
 * | counter (fence,    | integer string (`INCR`)  | see `INCR` in scripts.ts: the deadline of   |
 * |  generation)       |                          | the call that creates it, only extended    |
 * | owner index        | sorted set: entry key →  | `PEXPIREAT` its longest-lived member;       |
 * |                    | the entry's deadline     | expired members pruned on every add        |
 * | member set         | sorted set: member →     | the same as an owner index                 |
 * |  (revoked tokens)  | its deadline             |                                            |
 *
 * Deadlines are epoch milliseconds, whole (rounded up: never shortened). A member is live while
 * its score is after the caller's clock at the moment the read is sent: that is the clock that
 * judged the token itself unexpired, so a revocation is never missed for a slow read. Scripts
 * prune by the server's clock (see scripts.ts); the two differ only by clock skew, and a set's
 * own `PEXPIREAT` is on the server's clock anyway.
 */

/** A script to run: its name in `SCRIPTS`, KEYS (one slot) and ARGV. */
export interface ScriptCall {
  readonly script: ScriptName;
  readonly keys: string[];
  readonly args: string[];
}

/** The latest deadline a server takes (year 275 760): what an infinite `expiresAt` means. */
const FOREVER = 8.64e15;

/** Returns `expiresAt` as the whole-millisecond deadline the scripts take, rounded up; a
 *  non-finite one means "no live value" (or, for +Infinity, the furthest deadline). */
export function deadline(expiresAt: number): string {
  if (Number.isFinite(expiresAt)) return String(Math.ceil(expiresAt));
  return expiresAt > 0 ? String(FOREVER) : "0";
}

/** Returns a value reply as a string, or undefined for a missing key (`null`). */
export function text(reply: unknown): string | undefined {
  if (reply === null || reply === undefined) return undefined;
  return typeof reply === "string" ? reply : String(reply);
}

/** Returns true if a `ZSCORE` reply (a member's deadline, as a string or a number) is after
 *  `now`; false for a missing member. */
export function isLive(score: unknown, now: number): boolean {
  if (score === null || score === undefined) return false;
  return Number(score) > now;
}

/** Returns a counter's value from a `GET` reply: 0 when missing (or not a number). */
export function counterValue(reply: unknown): number {
  const v = text(reply);
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** What `set`/`setIfFence` send. */
export interface WritePlan {
  /** Owner indexes in other slots than the entry, one script each (each in its own slot):
   *  run these first, concurrently. Not atomic with `write`; indexing first means a failure in
   *  between leaves an index member whose key was never written (harmless), never a written
   *  entry that `deleteOwner` cannot find. */
  readonly before: ScriptCall[];
  /** The atomic write: entry, fence check and the owner indexes in the entry's slot. Replies 1
   *  if written, 0 if the fence had moved. */
  readonly write: ScriptCall;
}

/** Plans a write. In a cluster the fence must share the entry's slot (core's key codec gives
 *  them one hash tag); anything else is refused here, naming both keys. */
export function planWrite(
  key: string,
  value: string,
  expiresAt: number,
  fence: Fence | undefined,
  owners: readonly string[] | undefined,
  clustered: boolean,
): WritePlan {
  const exp = deadline(expiresAt);
  const slot = clustered ? keySlot(key) : 0;
  if (fence && clustered && keySlot(fence.key) !== slot) {
    throw new Error(
      `setIfFence needs the fence (fence.key ${fence.key}) in the cluster slot of the entry (key ${key}); give them one hash tag`,
    );
  }
  const here: string[] = [];
  const before: ScriptCall[] = [];
  for (const owner of owners ?? []) {
    if (!clustered || keySlot(owner) === slot) here.push(owner);
    else before.push(addMemberCall(owner, key, expiresAt));
  }
  const keys = fence ? [key, fence.key, ...here] : [key, ...here];
  const args = [value, exp, fence ? String(fence.value) : ""];
  return { before, write: { script: "setEntry", keys, args } };
}

/** The script of `addMember` (and of indexing an entry under an owner in another slot). */
export function addMemberCall(set: string, member: string, expiresAt: number): ScriptCall {
  return { script: "indexAdd", keys: [set], args: [member, deadline(expiresAt)] };
}

/** The script of `incr`. */
export function incrCall(key: string, expiresAt: number | undefined): ScriptCall {
  return {
    script: "incr",
    keys: [key],
    args: [expiresAt === undefined ? "" : deadline(expiresAt)],
  };
}

/**
 * `deleteOwner`. Standalone: one atomic script (`standaloneDeleteOwner`). Cluster, in three
 * steps, never a CROSSSLOT error but not atomic across slots: read the index (`ZRANGE owner 0
 * -1`), delete its members in other slots (`DEL` per slot, concurrently, `elsewhere`), then
 * delete the members in the index's slot and unindex everything read (`last`). A failure
 * before the last step leaves the index whole, so a retry finds every key again.
 */
export function standaloneDeleteOwner(owner: string): ScriptCall {
  return { script: "deleteOwner", keys: [owner], args: [] };
}

/** The cluster steps of `deleteOwner` after the index was read (see `standaloneDeleteOwner`). */
export function planClusterDeleteOwner(
  owner: string,
  members: readonly string[],
): { readonly elsewhere: string[][]; readonly last: ScriptCall } {
  const slot = keySlot(owner);
  const here: string[] = [];
  const elsewhere: string[][] = [];
  for (const group of keysBySlot(members)) {
    if (keySlot(group[0] as string) === slot) here.push(...group);
    else elsewhere.push(...chunks(group));
  }
  return {
    elsewhere,
    last: { script: "deleteOwnerLocal", keys: [owner, ...here], args: [...members] },
  };
}

/** Most keys one `DEL` takes from this package. */
export const DEL_CHUNK = 1000;

/** `deleteMany`: the `DEL`s to send (each in one slot, at most `DEL_CHUNK` keys), concurrently. */
export function planDelete(keys: readonly string[], clustered: boolean): string[][] {
  return keysBySlot(keys, clustered).flatMap(chunks);
}

function chunks(keys: string[]): string[][] {
  if (keys.length <= DEL_CHUNK) return [keys];
  const out: string[][] = [];
  for (let i = 0; i < keys.length; i += DEL_CHUNK) out.push(keys.slice(i, i + DEL_CHUNK));
  return out;
}

/** One slot's share of a read, sent as one `MGET` of `keys` (when there are any) then one
 *  `ZSCORE` per member check, in that order, written together. */
export interface ReadGroup {
  readonly keys: string[];
  /** Position of each of `keys` in the read's keys. */
  readonly keyAt: number[];
  readonly members: MemberCheck[];
  /** Position of each of `members` in the read's member checks. */
  readonly memberAt: number[];
}

/** Returns the number of commands a read group sends (its replies, in order). */
export function commandCount(group: ReadGroup): number {
  return (group.keys.length > 0 ? 1 : 0) + group.members.length;
}

/**
 * Plans `read`: one group standalone, one per slot in a cluster; the groups go out
 * concurrently, so a read costs one round trip of latency, and on a standalone server two
 * commands (`MGET` + `ZSCORE`) for the read core makes on an L1 miss. Not atomic, by design:
 * core validates every value it reads (an entry older than its generations is dead; the fence
 * is re-checked atomically by `setIfFence`), and a member check read after the values can only
 * see more revocations, never fewer.
 */
export function planRead(
  keys: readonly string[],
  members: readonly MemberCheck[],
  clustered: boolean,
): ReadGroup[] {
  // Positions < keys.length are value keys; the rest are member checks.
  const all = [...keys, ...members.map((m) => m.set)];
  return [...groupBySlot(all, clustered).values()].map((positions) => {
    const group: ReadGroup = { keys: [], keyAt: [], members: [], memberAt: [] };
    for (const p of positions) {
      if (p < keys.length) {
        group.keys.push(keys[p] as string);
        group.keyAt.push(p);
      } else {
        group.members.push(members[p - keys.length] as MemberCheck);
        group.memberAt.push(p - keys.length);
      }
    }
    return group;
  });
}

/** Fills a read's result from its groups' replies: for each group, the replies of its
 *  commands in order (the `MGET` reply if it has keys, then each `ZSCORE`). */
export function readResult(
  keyCount: number,
  memberCount: number,
  groups: readonly ReadGroup[],
  replies: readonly (readonly unknown[])[],
  now: number,
): ReadResult {
  const values: (string | undefined)[] = new Array(keyCount).fill(undefined);
  const flags: boolean[] = new Array(memberCount).fill(false);
  groups.forEach((group, g) => {
    const reply = replies[g];
    if (!reply || reply.length !== commandCount(group)) throw new Error("a read reply is short");
    const first = group.keys.length > 0 ? 1 : 0;
    const got = first === 1 ? (reply[0] as readonly unknown[]) : [];
    group.keyAt.forEach((p, i) => {
      values[p] = text(got[i]);
    });
    group.memberAt.forEach((p, j) => {
      flags[p] = isLive(reply[first + j], now);
    });
  });
  return { values, members: flags };
}
