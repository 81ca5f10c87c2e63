import type { Fence, MemberCheck, ReadResult, Store } from "@authcache/core";
import {
  closeClient,
  PACKAGE,
  type RedisClient,
  type RedisConnectionOptions,
  resolveConnection,
} from "./connection.ts";
import {
  ADD_MEMBER,
  COUNT_MEMBERS,
  DELETE_OWNER,
  INCR,
  INDEX_ADD,
  Script,
  SET_ENTRY,
} from "./scripts.ts";
import { groupBySlot, keySlot } from "./slot.ts";

export type RedisStoreOptions = RedisConnectionOptions;

/** A `Store` on Redis (or Valkey) through ioredis, standalone or cluster. */
export interface RedisStore extends Store {
  /** The client in use (yours if you passed one). */
  readonly client: RedisClient;
  /** True when talking to a cluster. */
  readonly clustered: boolean;
}

const setEntry = new Script(SET_ENTRY);
const indexAdd = new Script(INDEX_ADD);
const deleteOwnerScript = new Script(DELETE_OWNER);
const incrScript = new Script(INCR);
const addMemberScript = new Script(ADD_MEMBER);
const countMembersScript = new Script(COUNT_MEMBERS);

/** Deadlines are whole milliseconds on the server; a non-finite one means "no live value". */
function deadline(expiresAt: number): number {
  return Number.isFinite(expiresAt) ? Math.ceil(expiresAt) : expiresAt > 0 ? 8.64e15 : 0;
}

/** A reply string, or undefined for a missing key. */
function text(v: string | null | undefined): string | undefined {
  return v === null || v === undefined ? undefined : String(v);
}

/** Whether a sorted-set score (a member's deadline, ms) is still ahead of `now`. */
function live(score: string | null | undefined, now: number): boolean {
  return score !== null && score !== undefined && Number(score) > now;
}

function fail(op: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${PACKAGE}: redis store ${op} failed: ${message}`, { cause: error });
}

/**
 * Creates a Store on Redis or Valkey.
 *
 * Atomicity: `set`/`setIfFence` write the entry, check the fence and record the entry under
 * every owner index in the entry's slot in one script. In cluster mode an owner index in
 * another slot (a team index) is updated right after, separately: not atomic with the write.
 * `deleteOwner` deletes the index and the members in its slot in one script, then members in
 * other slots, one command per slot.
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const { client, owned, clustered } = resolveConnection(options, "createRedisStore");
  let closed = false;

  const guard = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    if (closed) throw new Error(`${PACKAGE}: redis store ${op} after close()`);
    try {
      return await run();
    } catch (error) {
      throw fail(op, error);
    }
  };

  /** Deletes keys grouped by slot, the groups concurrently. */
  const deleteKeys = async (keys: string[]): Promise<void> => {
    if (keys.length === 0) return;
    const groups = groupBySlot(keys, clustered);
    await Promise.all(
      [...groups.values()].map(async (positions) => {
        const group = positions.map((i) => keys[i] as string);
        for (let i = 0; i < group.length; i += 1000) {
          await client.del(...group.slice(i, i + 1000));
        }
      }),
    );
  };

  /**
   * Reads keys and member checks that all sit in one slot (any keys, standalone) in one round
   * trip with plain commands: `MGET` of the keys, then one `ZSCORE` per member check, written
   * to the socket together (a pipeline) when there is more than one command. No script: a
   * read is not a snapshot across the member checks (see `read`).
   */
  const readHere = async (
    keys: string[],
    members: readonly MemberCheck[],
    now: number,
  ): Promise<{ values: (string | undefined)[]; flags: boolean[] }> => {
    if (members.length === 0) {
      const reply = await client.mget(keys);
      return { values: reply.map(text), flags: [] };
    }
    if (keys.length === 0 && members.length === 1) {
      const m = members[0] as MemberCheck;
      return { values: [], flags: [live(await client.zscore(m.set, m.member), now)] };
    }
    const pipeline = client.pipeline();
    if (keys.length > 0) pipeline.mget(keys);
    for (const m of members) pipeline.zscore(m.set, m.member);
    const replies = (await pipeline.exec()) ?? [];
    const first = keys.length > 0 ? 1 : 0;
    if (replies.length !== first + members.length) throw new Error("pipeline reply is short");
    for (const [error] of replies) if (error) throw error;
    const values = keys.length > 0 ? ((replies[0]?.[1] ?? []) as (string | null)[]).map(text) : [];
    const flags = members.map((_, j) => live(replies[first + j]?.[1] as string | null, now));
    return { values, flags };
  };

  /**
   * One round trip of latency: standalone, one `MGET` (plus the `ZSCORE`s of the member
   * checks in the same write); in a cluster, the same per slot, the slots concurrently.
   *
   * Not atomic, by design: core validates every value it reads (an entry older than `gen:all`
   * or its team generation is dead; the fence is re-checked atomically by `setIfFence`), and a
   * member check read after the values can only see more revocations, never fewer. Standalone,
   * the values themselves come from one `MGET`, so they are one snapshot.
   */
  const read = async (keys: string[], members: MemberCheck[]): Promise<ReadResult> => {
    // A member is live if its deadline is after the moment the read was sent (the app's clock,
    // the one that checks a token's own expiry): a revocation is never missed for being late.
    const now = Date.now();
    if (keys.length === 0 && members.length === 0) return { values: [], members: [] };
    if (!clustered) {
      const r = await readHere(keys, members, now);
      return { values: r.values, members: r.flags };
    }
    const values: (string | undefined)[] = new Array(keys.length).fill(undefined);
    const flags: boolean[] = new Array(members.length).fill(false);
    // Positions < keys.length are value keys; the rest are member checks.
    const all = [...keys, ...members.map((m) => m.set)];
    const groups = groupBySlot(all, true);
    await Promise.all(
      [...groups.values()].map(async (positions) => {
        const valuePos = positions.filter((p) => p < keys.length);
        const memberPos = positions.filter((p) => p >= keys.length).map((p) => p - keys.length);
        const r = await readHere(
          valuePos.map((p) => keys[p] as string),
          memberPos.map((p) => members[p] as MemberCheck),
          now,
        );
        valuePos.forEach((p, i) => {
          values[p] = r.values[i];
        });
        memberPos.forEach((p, j) => {
          flags[p] = r.flags[j] === true;
        });
      }),
    );
    return { values, members: flags };
  };

  const write = async (
    key: string,
    value: string,
    expiresAt: number,
    fence: Fence | undefined,
    owners: string[] | undefined,
  ): Promise<boolean> => {
    const exp = deadline(expiresAt);
    const slot = clustered ? keySlot(key) : 0;
    const here: string[] = [];
    const elsewhere: string[] = [];
    for (const owner of owners ?? []) {
      if (!clustered || keySlot(owner) === slot) here.push(owner);
      else elsewhere.push(owner);
    }
    const scriptKeys = fence ? [key, fence.key, ...here] : [key, ...here];
    const args = [value, exp, fence ? String(fence.value) : ""];
    const written = Number(await setEntry.run(client, scriptKeys, args)) === 1;
    if (written && elsewhere.length > 0) {
      await Promise.all(elsewhere.map((owner) => indexAdd.run(client, [owner], [key, exp])));
    }
    return written;
  };

  const store: RedisStore = {
    name: "redis",
    client,
    clustered,

    get: (key) =>
      guard("get", async () => {
        const v = await client.get(key);
        return v === null ? undefined : v;
      }),

    getMany: (keys) => guard("getMany", async () => (await read(keys, [])).values),

    read: (keys, members) => guard("read", () => read(keys, members)),

    set: (key, value, expiresAt, owners) =>
      guard("set", async () => {
        await write(key, value, expiresAt, undefined, owners);
      }),

    setIfFence: (key, value, expiresAt, fence, owners) =>
      guard("setIfFence", () => write(key, value, expiresAt, fence, owners)),

    deleteMany: (keys) => guard("deleteMany", () => deleteKeys(keys)),

    deleteOwner: (owner) =>
      guard("deleteOwner", async () => {
        const rest = (await deleteOwnerScript.run(client, [owner], [clustered ? "0" : "1"])) as
          | string[]
          | null;
        if (rest && rest.length > 0) await deleteKeys(rest.map(String));
      }),

    incr: (key, expiresAt) =>
      guard("incr", async () =>
        Number(
          await incrScript.run(client, [key], [expiresAt === undefined ? "" : deadline(expiresAt)]),
        ),
      ),

    getCounter: (key) =>
      guard("getCounter", async () => {
        const v = await client.get(key);
        return v === null ? 0 : Number(v);
      }),

    addMember: (set, member, expiresAt) =>
      guard("addMember", async () => {
        await addMemberScript.run(client, [set], [member, deadline(expiresAt)]);
      }),

    hasMember: (set, member) =>
      guard("hasMember", async () => (await read([], [{ set, member }])).members[0] === true),

    countMembers: (set) =>
      guard("countMembers", async () => Number(await countMembersScript.run(client, [set], []))),

    close: async () => {
      if (closed) return;
      closed = true;
      if (owned) await closeClient(client);
    },
  };
  return store;
}
