import type { Store } from "@authcache/core";
import type { Fence, MemberCheck, ReadResult } from "@authcache/core/adapter";
import {
  addMemberCall,
  checkDurability,
  counterValue,
  type DurabilityOptions,
  incrCall,
  isLive,
  planClusterDeleteOwner,
  planDelete,
  planRead,
  planWrite,
  type ReadGroup,
  readResult,
  standaloneDeleteOwner,
  text,
} from "@authcache/redis-protocol";
import {
  closeClient,
  keyspaceOf,
  PACKAGE,
  type RedisClient,
  type RedisConnectionOptions,
  resolveConnection,
} from "./connection.ts";
import { waitDurable } from "./durability.ts";
import { runScript } from "./scripts.ts";

export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Wait for replicas to acknowledge each invalidation write (`deleteMany`, `deleteOwner`,
   *  `incr`, `addMember`) with `WAIT` (or `WAITAOF`), and fail it when too few did, so a
   *  failover cannot silently undo an invalidation. Costs a replication round trip per write
   *  (README, "Operations"). Default: none (asynchronous replication). */
  durability?: DurabilityOptions;
}

/** A `Store` on Redis (or Valkey) through ioredis, standalone or cluster. */
export interface RedisStore extends Store {
  /** The client in use (yours if you passed one). */
  readonly client: RedisClient;
  /** True when talking to a cluster. */
  readonly clustered: boolean;
}

function fail(op: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${PACKAGE}: redis store ${op} failed: ${message}`, { cause: error });
}

/**
 * Creates a Store on Redis or Valkey: the layout, scripts and rules of
 * `@authcache/redis-protocol` (atomicity and cluster behaviour are described there), sent
 * through ioredis. An ioredis `Cluster` pipeline must stay in one slot, so each slot's share
 * of a read is its own pipeline, the slots concurrently.
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const durability = checkDurability(options?.durability, `${PACKAGE}: createRedisStore`);
  const { client, owned, clustered } = resolveConnection(options, "createRedisStore");
  let closed = false;

  const durable = (keys: readonly string[]): Promise<void> =>
    waitDurable(client, clustered, keys, durability);

  const guard = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    if (closed) throw new Error(`${PACKAGE}: redis store ${op} after close()`);
    try {
      return await run();
    } catch (error) {
      throw fail(op, error);
    }
  };

  /** One slot's share of a read: its commands written together (a pipeline when several). */
  const readGroup = async ({ keys, members }: ReadGroup): Promise<unknown[]> => {
    if (members.length === 0) return [await client.mget(keys)];
    if (keys.length === 0 && members.length === 1) {
      const m = members[0] as MemberCheck;
      return [await client.zscore(m.set, m.member)];
    }
    const pipeline = client.pipeline();
    if (keys.length > 0) pipeline.mget(keys);
    // Several checks in one set (core batches the L1 misses of one turn): one ZMSCORE.
    const set = members[0]?.set;
    const oneSet = members.length > 1 && members.every((m) => m.set === set);
    if (oneSet)
      pipeline.zmscore(
        set as string,
        members.map((m) => m.member),
      );
    else for (const m of members) pipeline.zscore(m.set, m.member);
    const replies = ((await pipeline.exec()) ?? []).map(([error, reply]) => {
      if (error) throw error;
      return reply;
    });
    if (!oneSet) return replies;
    const scores = replies[replies.length - 1];
    if (!Array.isArray(scores) || scores.length !== members.length) {
      throw new Error("ZMSCORE reply is short");
    }
    return [...replies.slice(0, -1), ...scores];
  };

  const read = async (keys: string[], members: MemberCheck[]): Promise<ReadResult> => {
    const now = Date.now(); // member expiry: the caller's clock when the read is sent
    if (keys.length === 0 && members.length === 0) return { values: [], members: [] };
    if (!clustered) {
      // One group, its replies in the read's own order: no slot plan (the L1-miss path).
      const replies = await readGroup({ keys, keyAt: [], members, memberAt: [] });
      const first = keys.length > 0 ? 1 : 0;
      const got = first === 1 ? replies[0] : [];
      if (replies.length !== first + members.length || !Array.isArray(got)) {
        throw new Error("a read reply is short");
      }
      const values: (string | undefined)[] = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) values[i] = text(got[i]);
      const flags: boolean[] = new Array(members.length);
      for (let j = 0; j < members.length; j++) flags[j] = isLive(replies[first + j], now);
      return { values, members: flags };
    }
    const groups = planRead(keys, members, true);
    const replies = await Promise.all(groups.map(readGroup));
    return readResult(keys.length, members.length, groups, replies, now);
  };

  const write = async (
    key: string,
    value: string,
    expiresAt: number,
    fence: Fence | undefined,
    owners: string[] | undefined,
  ): Promise<boolean> => {
    const plan = planWrite(key, value, expiresAt, fence, owners, clustered);
    await Promise.all(plan.before.map((call) => runScript(client, call)));
    return Number(await runScript(client, plan.write)) === 1;
  };

  const deleteKeys = async (keys: string[]): Promise<void> => {
    await Promise.all(planDelete(keys, clustered).map((group) => client.del(...group)));
  };

  // Standalone, without durability (whose WAIT per write a bus would not make): a bus on the
  // same server and database may carry this store's invalidation writes (core's publishAfter).
  const keyspace = durability === undefined ? keyspaceOf(client, !owned) : undefined;
  const store: RedisStore = {
    name: "redis",
    client,
    clustered,
    ...(keyspace === undefined ? {} : { keyspace }),

    get: (key) => guard("get", async () => text(await client.get(key))),

    getMany: (keys) => guard("getMany", async () => (await read(keys, [])).values),

    read: (keys, members) => guard("read", () => read(keys, members)),

    set: (key, value, expiresAt, owners) =>
      guard("set", async () => {
        await write(key, value, expiresAt, undefined, owners);
      }),

    setIfFence: (key, value, expiresAt, fence, owners) =>
      guard("setIfFence", () => write(key, value, expiresAt, fence, owners)),

    deleteMany: (keys) =>
      guard("deleteMany", async () => {
        await deleteKeys(keys);
        await durable(keys);
      }),

    deleteOwner: (owner) =>
      guard("deleteOwner", async () => {
        if (!clustered) {
          await runScript(client, standaloneDeleteOwner(owner));
          await durable([owner]);
          return;
        }
        const members = await client.zrange(owner, "0", "-1");
        if (members.length === 0) return;
        const { elsewhere, last } = planClusterDeleteOwner(owner, members);
        await Promise.all(elsewhere.map((group) => client.del(...group)));
        await runScript(client, last);
        await durable([owner, ...members]);
      }),

    incr: (key, expiresAt) =>
      guard("incr", async () => {
        const value = Number(await runScript(client, incrCall(key, expiresAt)));
        await durable([key]);
        return value;
      }),

    getCounter: (key) => guard("getCounter", async () => counterValue(await client.get(key))),

    addMember: (set, member, expiresAt) =>
      guard("addMember", async () => {
        await runScript(client, addMemberCall(set, member, expiresAt));
        await durable([set]);
      }),

    hasMember: (set, member) =>
      guard("hasMember", async () => (await read([], [{ set, member }])).members[0] === true),

    countMembers: (set) =>
      guard("countMembers", () => client.zcount(set, `(${Date.now()}`, "+inf")),

    close: async () => {
      if (closed) return;
      closed = true;
      if (owned) await closeClient(client);
    },
  };
  return store;
}
