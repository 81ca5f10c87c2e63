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
  type ScriptCall,
  standaloneDeleteOwner,
  text,
} from "@authcache/redis-protocol";
import {
  Batch,
  ClusterBatch,
  type GlideClient,
  type GlideClusterClient,
  InfBoundary,
} from "@valkey/valkey-glide";
import {
  ClientHandle,
  isCluster,
  keyspaceOf,
  PKG,
  type ValkeyClient,
  type ValkeyConnectionOptions,
} from "./connection.ts";
import { waitDurable } from "./durability.ts";
import { InFlightLimiter } from "./limiter.ts";
import { ReadBatcher, type ReadRequest } from "./read-batcher.ts";
import { script } from "./scripts.ts";

/** Options of `createValkeyStore`. */
export interface ValkeyStoreOptions extends ValkeyConnectionOptions {
  /** Most requests this store keeps in flight on its client (a script counts 2); the rest
   *  wait in a queue. Keep it below glide's `inflightRequestsLimit` (default 1000), minus
   *  whatever else shares a given client. Default 256 (or the limit, if lower): enough to
   *  keep the connection busy, small enough that nothing waits inside glide long enough to
   *  hit its `requestTimeout` (the queue here has no timeout of its own). */
  readonly maxInFlight?: number;
  /** Read pipelines in flight at once; reads beyond them are coalesced into the next
   *  pipeline (default 8). */
  readonly readPipelines?: number;
  /** The clock member checks are judged by (epoch ms; default `Date.now`): a member is live
   *  while its deadline is after this clock when the read is sent. Scripts use the server's. */
  readonly now?: () => number;
  /** `Store.name`; default "valkey". */
  readonly name?: string;
  /** Wait for replicas to acknowledge each invalidation write (`deleteMany`, `deleteOwner`,
   *  `incr`, `addMember`) with `WAIT` (or `WAITAOF`), and fail it when too few did, so a
   *  failover cannot silently undo an invalidation. Costs a replication round trip per write
   *  (README, "Operations"). Default: none (asynchronous replication). */
  readonly durability?: DurabilityOptions;
}

/** A Store on valkey-glide, with the client and in-flight figures exposed. */
export interface ValkeyStore extends Store {
  /** The glide client (opened on first need when the store was given addresses). */
  getClient(): Promise<ValkeyClient>;
  /** Requests in flight and waiting, for stats and load tests. */
  readonly inFlight: { readonly active: number; readonly queued: number; readonly max: number };
}

/** Part of a read sent to one place: all of it standalone, one slot's share in a cluster
 *  (positions in the read: `keyAt`/`memberAt`, absent when they are 0, 1, 2, ...). */
interface ReadPart {
  readonly keys: string[];
  readonly keyAt?: readonly number[];
  readonly members: readonly MemberCheck[];
  readonly memberAt?: readonly number[];
  /** Several checks in one set: one ZMSCORE (else one ZSCORE per check). */
  readonly inOneSet: boolean;
}

function readPart(group: {
  keys: string[];
  keyAt?: readonly number[];
  members: readonly MemberCheck[];
  memberAt?: readonly number[];
}): ReadPart {
  const set = group.members[0]?.set;
  const inOneSet = group.members.length > 1 && group.members.every((m) => m.set === set);
  return { ...group, inOneSet };
}

/** Commands a part sends: MGET if it has keys, then one ZMSCORE or a ZSCORE per check. */
const partSize = (p: ReadPart): number =>
  (p.keys.length > 0 ? 1 : 0) + (p.inOneSet ? 1 : p.members.length);

/** One read in a pipeline: the commands it adds, and its result from their replies. */
interface PendingRead extends ReadRequest {
  add(pipeline: Batch | ClusterBatch): void;
}

/** A read of `keyCount` keys and `memberCount` checks, sent as `parts`; members are judged
 *  live against `t`. Settles `resolve`/`reject` from its replies in a pipeline. */
function pendingRead(
  keyCount: number,
  memberCount: number,
  parts: readonly ReadPart[],
  t: number,
  resolve: (result: ReadResult) => void,
  reject: (err: unknown) => void,
): PendingRead {
  let size = 0;
  for (const p of parts) size += partSize(p);
  return {
    size,
    reject,
    add(pipeline) {
      for (const p of parts) {
        if (p.keys.length > 0) pipeline.mget(p.keys);
        if (p.inOneSet) {
          pipeline.zmscore(
            (p.members[0] as MemberCheck).set,
            p.members.map((m) => m.member),
          );
        } else for (const m of p.members) pipeline.zscore(m.set, m.member);
      }
    },
    resolve(replies, from) {
      const values: (string | undefined)[] = new Array(keyCount).fill(undefined);
      const members: boolean[] = new Array(memberCount).fill(false);
      let at = from;
      for (const p of parts) {
        if (p.keys.length > 0) {
          const got = replies[at++];
          if (!Array.isArray(got) || got.length !== p.keys.length) {
            reject(new Error(`${PKG}: an MGET reply is short`));
            return;
          }
          for (let i = 0; i < got.length; i++)
            values[p.keyAt ? (p.keyAt[i] as number) : i] = text(got[i]);
        }
        let scores: readonly unknown[] = replies;
        let s = at;
        if (p.inOneSet) {
          const got = replies[at++];
          if (!Array.isArray(got) || got.length !== p.members.length) {
            reject(new Error(`${PKG}: a ZMSCORE reply is short`));
            return;
          }
          scores = got;
          s = 0;
        } else at += p.members.length;
        for (let j = 0; j < p.members.length; j++)
          members[p.memberAt ? (p.memberAt[j] as number) : j] = isLive(scores[s + j], t);
      }
      resolve({ values, members });
    },
  };
}

/** A multi-key command (MGET, DEL, a script) on a slot being migrated answers TRYAGAIN while
 *  its keys are split between the two nodes (resharding); ioredis retries it by itself, glide
 *  hands it back. Retried here after a short wait (10 ms doubling to 100 ms, 20 times at most:
 *  core's timeout ends the wait sooner). */
const TRY_AGAIN = /TRYAGAIN|TryAgain/;

function retryTryAgain<T>(run: () => Promise<T>, attempt = 0): Promise<T> {
  // A promise chain, not an async loop: the call that succeeds (nearly all) costs no extra turn.
  let sent: Promise<T>;
  try {
    sent = run();
  } catch (error) {
    sent = Promise.reject(error);
  }
  return sent.catch((error: unknown) => {
    if (!(error instanceof Error) || !TRY_AGAIN.test(error.message) || attempt >= 20) throw error;
    return new Promise((resolve) => setTimeout(resolve, Math.min(10 * 2 ** attempt, 100))).then(
      () => retryTryAgain(run, attempt + 1),
    );
  });
}

/** In-flight units glide charges for one invokeScript (see InFlightLimiter.run). */
const SCRIPT_WEIGHT = 2;

/**
 * A Store on Valkey or Redis through valkey-glide, standalone or cluster: the layout, scripts
 * and rules of `@authcache/redis-protocol` (atomicity and cluster behaviour are described
 * there), sent through glide.
 *
 * - `read` is one pipeline (glide splits it per node in a cluster and sends the parts
 *   concurrently): one round trip of latency whatever slots the keys sit in. Under load,
 *   concurrent reads share pipelines (see ReadBatcher).
 * - Every request passes an in-flight cap below glide's `inflightRequestsLimit`, so a burst
 *   waits in a queue instead of failing with "Reached maximum inflight requests".
 */
export function createValkeyStore(options: ValkeyStoreOptions): ValkeyStore {
  const durability = checkDurability(options?.durability, `${PKG}: createValkeyStore`);
  const handle = new ClientHandle(options, "createValkeyStore");
  const clustered = options.client ? isCluster(options.client) : options.cluster === true;
  const given = options.client;
  const glideLimit = given ? 1000 : (options.clientConfig?.inflightRequestsLimit ?? 1000);
  const max = options.maxInFlight ?? Math.min(256, glideLimit);
  const limiter = new InFlightLimiter(max);
  const now = options.now ?? Date.now;
  handle.warm();

  /** Runs `fn` on the client under the in-flight cap (again after a TRYAGAIN, see
   *  retryTryAgain). */
  const call = <T>(fn: (client: ValkeyClient) => Promise<T>, weight = 1): Promise<T> =>
    retryTryAgain(() => {
      const ready = handle.ready;
      if (ready) return limiter.run(() => fn(ready), weight);
      return handle.get().then((client) => limiter.run(() => fn(client), weight));
    });

  const run = ({ script: name, keys, args }: ScriptCall) =>
    call((c) => c.invokeScript(script(name), { keys, args }), SCRIPT_WEIGHT);

  const del = (keys: string[]) => call((c) => c.del(keys));

  /** After an invalidation write of `keys` (nothing without `durability`). */
  const durable = (keys: readonly string[]): Promise<void> =>
    durability === undefined
      ? Promise.resolve()
      : call((c) => waitDurable(c, clustered, keys, durability));

  /** Sends several reads as one non-atomic pipeline (glide splits it per node in a cluster).
   *  Several checks of one set in one read (core batches the L1 misses of one turn) are one
   *  ZMSCORE; each read takes its replies from the pipeline's by position. */
  const sendReads = (batch: PendingRead[]): Promise<unknown[]> =>
    call(async (c) => {
      const cluster = isCluster(c);
      const pipeline = cluster ? new ClusterBatch(false) : new Batch(false);
      let size = 0;
      for (const r of batch) {
        r.add(pipeline);
        size += r.size;
      }
      const replies = cluster
        ? await (c as GlideClusterClient).exec(pipeline as ClusterBatch, false)
        : await (c as GlideClient).exec(pipeline as Batch, false);
      if (!replies) throw new Error(`${PKG}: a read pipeline returned nothing`);
      // A non-atomic batch hands a command's error back as its reply: a failed ZSCORE must not
      // read as "not a member", nor a failed MGET as a miss. The whole read fails (a TRYAGAIN
      // is retried by `call`).
      for (const reply of replies) if (reply instanceof Error) throw reply;
      if (replies.length !== size) throw new Error(`${PKG}: a read pipeline is short`);
      return replies;
    });
  const reads = new ReadBatcher<PendingRead>(sendReads, {
    maxConcurrent: options.readPipelines ?? 8,
    maxCommands: 512,
  });

  const read = (keys: string[], members: MemberCheck[]): Promise<ReadResult> => {
    if (keys.length === 0 && members.length === 0)
      return Promise.resolve({ values: [], members: [] });
    const t = now(); // member expiry: the caller's clock when the read is sent
    const parts = clustered
      ? planRead(keys, members, true).map(readPart)
      : [readPart({ keys, members })];
    return new Promise<ReadResult>((resolve, reject) => {
      reads.add(pendingRead(keys.length, members.length, parts, t, resolve, reject));
    });
  };

  const write = async (
    key: string,
    value: string,
    expiresAt: number,
    fence: Fence | undefined,
    owners: string[] | undefined,
  ): Promise<boolean> => {
    const plan = planWrite(key, value, expiresAt, fence, owners, clustered);
    await Promise.all(plan.before.map(run));
    return Number(await run(plan.write)) === 1;
  };

  // Without durability (whose WAIT per write a bus would not make): a bus on the same server
  // and database may carry this store's invalidation writes (core's ordered publish).
  const keyspace = durability === undefined ? keyspaceOf(options) : undefined;
  const store: ValkeyStore = {
    name: options.name ?? "valkey",
    ...(keyspace === undefined ? {} : { keyspace }),

    getClient: () => handle.get(),

    get inFlight() {
      return {
        active: limiter.active,
        queued: limiter.queued + reads.queued,
        max: limiter.max,
      };
    },

    get: async (key) => text(await call((c) => c.get(key))),

    getMany: async (keys) => (await read(keys, [])).values,

    read,

    set: async (key, value, expiresAt, owners) => {
      await write(key, value, expiresAt, undefined, owners);
    },

    setIfFence: (key, value, expiresAt, fence, owners) =>
      write(key, value, expiresAt, fence, owners),

    deleteMany: async (keys) => {
      await Promise.all(planDelete(keys, clustered).map(del));
      await durable(keys);
    },

    deleteOwner: async (owner) => {
      if (!clustered) {
        await run(standaloneDeleteOwner(owner));
        await durable([owner]);
        return;
      }
      const members = (await call((c) => c.zrange(owner, { start: 0, end: -1 }))).map(
        (m) => text(m) as string,
      );
      if (members.length === 0) return;
      const { elsewhere, last } = planClusterDeleteOwner(owner, members);
      await Promise.all(elsewhere.map(del));
      await run(last);
      await durable([owner, ...members]);
    },

    incr: async (key, expiresAt) => {
      const value = Number(await run(incrCall(key, expiresAt)));
      await durable([key]);
      return value;
    },

    getCounter: async (key) => counterValue(await call((c) => c.get(key))),

    addMember: async (set, member, expiresAt) => {
      await run(addMemberCall(set, member, expiresAt));
      await durable([set]);
    },

    hasMember: async (set, member) => (await read([], [{ set, member }])).members[0] === true,

    countMembers: (set) => {
      const t = now();
      return call((c) =>
        c.zcount(set, { value: t, isInclusive: false }, InfBoundary.PositiveInfinity),
      );
    },

    close: () => handle.close(),
  };
  return store;
}
