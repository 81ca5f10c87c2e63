import type { Fence, MemberCheck, ReadResult, Store } from "@authcache/core";
import {
  Batch,
  ClusterBatch,
  type GlideClient,
  type GlideClusterClient,
  type GlideString,
  InfBoundary,
} from "@valkey/valkey-glide";
import {
  ClientHandle,
  isCluster,
  PKG,
  type ValkeyClient,
  type ValkeyConnectionOptions,
} from "./connection.ts";
import { InFlightLimiter } from "./limiter.ts";
import { ReadBatcher, type ReadRequest } from "./read-batcher.ts";
import { script } from "./scripts.ts";
import { groupBySlot, keySlot } from "./slot.ts";

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
  /** Clock for expiry decisions (epoch ms); default `Date.now`. */
  readonly now?: () => number;
  /** `Store.name`; default "valkey". */
  readonly name?: string;
}

/** A Store on valkey-glide, with the client and in-flight figures exposed. */
export interface ValkeyStore extends Store {
  /** The glide client (opened on first need when the store was given addresses). */
  getClient(): Promise<ValkeyClient>;
  /** Requests in flight and waiting, for stats and load tests. */
  readonly inFlight: { readonly active: number; readonly queued: number; readonly max: number };
}

const str = (v: GlideString | null | undefined): string | undefined =>
  v === null || v === undefined ? undefined : typeof v === "string" ? v : v.toString();

interface PendingRead extends ReadRequest {
  readonly keys: string[];
  readonly members: MemberCheck[];
}

/** In-flight units glide charges for one invokeScript (see InFlightLimiter.run). */
const SCRIPT_WEIGHT = 2;

/** Deadlines go to the server as whole milliseconds; rounding up never shortens a lifetime. */
const ms = (t: number): string => String(Math.ceil(t));

/**
 * A Store on Valkey or Redis through valkey-glide, standalone or cluster.
 *
 * - Entries are strings with a PXAT deadline. Owner indexes and member sets are sorted sets
 *   scored by expiry, pruned of expired members on every add, so they stay bounded by what
 *   is live. Nothing here iterates the keyspace or matches patterns.
 * - `set`/`setIfFence` are one script over the entry, its fence and every owner index in the
 *   entry's slot (atomic). Owner indexes in other slots (a team's) are updated first, each by
 *   its own script in its own slot: not atomic with the write. A crash in between leaves an
 *   index member whose key was never written, which is harmless.
 * - `deleteOwner` is one atomic script on a standalone server. In a cluster it reads the index,
 *   deletes the members in other slots with one DEL per slot, then deletes the members in the
 *   index's slot and unindexes everything it read in one script: never a CROSSSLOT error, but
 *   not atomic across slots.
 * - `read` is one pipeline (glide splits it per node in a cluster and sends the parts
 *   concurrently): one round trip of latency whatever slots the keys sit in. Under load,
 *   concurrent reads share pipelines (see ReadBatcher).
 * - Every request passes an in-flight cap below glide's `inflightRequestsLimit`, so a burst
 *   waits in a queue instead of failing with "Reached maximum inflight requests".
 */
export function createValkeyStore(options: ValkeyStoreOptions): ValkeyStore {
  const handle = new ClientHandle(options, "createValkeyStore");
  const given = options.client;
  const glideLimit = given ? 1000 : (options.clientConfig?.inflightRequestsLimit ?? 1000);
  const max = options.maxInFlight ?? Math.min(256, glideLimit);
  const limiter = new InFlightLimiter(max);
  const now = options.now ?? Date.now;
  handle.warm();

  /** Runs `fn` on the client under the in-flight cap. */
  const call = <T>(fn: (client: ValkeyClient) => Promise<T>, weight = 1): Promise<T> => {
    const ready = handle.ready;
    if (ready) return limiter.run(() => fn(ready), weight);
    return handle.get().then((client) => limiter.run(() => fn(client), weight));
  };

  const invoke = (name: Parameters<typeof script>[0], keys: string[], args: string[]) =>
    call((c) => c.invokeScript(script(name), { keys, args }), SCRIPT_WEIGHT);

  /** Splits `owners` into those that can join an atomic script on `key` and the rest. */
  const splitOwners = (
    client: ValkeyClient,
    key: string,
    owners: readonly string[],
  ): { local: string[]; remote: string[] } => {
    if (owners.length === 0 || !isCluster(client)) return { local: [...owners], remote: [] };
    const slot = keySlot(key);
    const local: string[] = [];
    const remote: string[] = [];
    for (const o of owners) (keySlot(o) === slot ? local : remote).push(o);
    return { local, remote };
  };

  const indexRemote = async (remote: string[], key: string, exp: string, t: string) => {
    if (remote.length === 0) return;
    await Promise.all(remote.map((o) => invoke("index", [o], [key, exp, t])));
  };

  /** Sends several reads as one non-atomic pipeline (glide splits it per node in a cluster). */
  const sendReads = (batch: PendingRead[]): Promise<unknown[]> =>
    call(async (c) => {
      const cluster = isCluster(c);
      const pipeline = cluster ? new ClusterBatch(false) : new Batch(false);
      for (const r of batch) {
        for (const k of r.keys) pipeline.get(k);
        for (const m of r.members) pipeline.zscore(m.set, m.member);
      }
      const replies = cluster
        ? await (c as GlideClusterClient).exec(pipeline as ClusterBatch, false)
        : await (c as GlideClient).exec(pipeline as Batch, false);
      if (!replies) throw new Error(`${PKG}: a read pipeline returned nothing`);
      return replies;
    });
  const reads = new ReadBatcher<PendingRead>(sendReads, {
    maxConcurrent: options.readPipelines ?? 8,
    maxCommands: 512,
  });

  const store: ValkeyStore = {
    name: options.name ?? "valkey",

    getClient: () => handle.get(),

    get inFlight() {
      return {
        active: limiter.active,
        queued: limiter.queued + reads.queued,
        max: limiter.max,
      };
    },

    async get(key) {
      return str(await call((c) => c.get(key)));
    },

    async getMany(keys) {
      if (keys.length === 0) return [];
      // glide splits a multi-slot MGET per slot in cluster mode and reassembles the order.
      const values = await call((c) => c.mget(keys));
      return values.map(str);
    },

    read(keys: string[], members: MemberCheck[]): Promise<ReadResult> {
      if (keys.length === 0 && members.length === 0)
        return Promise.resolve({ values: [], members: [] });
      return new Promise<ReadResult>((resolve, reject) => {
        const t = now();
        reads.add({
          keys,
          members,
          size: keys.length + members.length,
          resolve: (raw) =>
            resolve({
              values: keys.map((_, i) => str(raw[i] as GlideString | null)),
              members: members.map((_, i) => {
                const score = raw[keys.length + i];
                return typeof score === "number" && score > t;
              }),
            }),
          reject,
        });
      });
    },

    async set(key, value, expiresAt, owners = []) {
      const client = await handle.get();
      const { local, remote } = splitOwners(client, key, owners);
      const t = String(now());
      const exp = ms(expiresAt);
      await indexRemote(remote, key, exp, t);
      await invoke("set", [key, ...local], [value, exp, t]);
    },

    async setIfFence(key, value, expiresAt, fence: Fence, owners = []) {
      const client = await handle.get();
      if (isCluster(client) && keySlot(fence.key) !== keySlot(key))
        throw new Error(
          `${PKG}: setIfFence needs the fence (${fence.key}) in the entry's cluster slot (${key}); give them one hash tag`,
        );
      const { local, remote } = splitOwners(client, key, owners);
      const t = String(now());
      const exp = ms(expiresAt);
      await indexRemote(remote, key, exp, t);
      const written = await invoke(
        "setIfFence",
        [key, fence.key, ...local],
        [value, exp, t, String(fence.value)],
      );
      return written === 1;
    },

    async deleteMany(keys) {
      if (keys.length === 0) return;
      const client = await handle.get();
      if (!isCluster(client)) {
        await call((c) => c.del(keys));
        return;
      }
      await Promise.all([...groupBySlot(keys).values()].map((g) => call((c) => c.del(g))));
    },

    async deleteOwner(owner) {
      const client = await handle.get();
      if (!isCluster(client)) {
        await invoke("deleteOwner", [owner], []);
        return;
      }
      const read = (await call((c) => c.zrange(owner, { start: 0, end: -1 }))).map(
        (m) => str(m) as string,
      );
      if (read.length === 0) return;
      const slot = keySlot(owner);
      const groups = groupBySlot(read);
      const local = groups.get(slot) ?? [];
      groups.delete(slot);
      await Promise.all([...groups.values()].map((g) => call((c) => c.del(g))));
      await invoke("deleteOwnerLocal", [owner, ...local], read);
    },

    async incr(key, expiresAt) {
      const v = await invoke(
        "incr",
        [key],
        [expiresAt === undefined ? "" : ms(expiresAt), String(now())],
      );
      return Number(v);
    },

    async getCounter(key) {
      const v = str(await call((c) => c.get(key)));
      if (v === undefined) return 0;
      const n = Number(v);
      return Number.isFinite(n) ? n : 0;
    },

    async addMember(set, member, expiresAt) {
      await invoke("addMember", [set], [member, ms(expiresAt), String(now())]);
    },

    async hasMember(set, member) {
      const score = await call((c) => c.zscore(set, member));
      return typeof score === "number" && score > now();
    },

    async countMembers(set) {
      const t = now();
      return call((c) =>
        c.zcount(set, { value: t, isInclusive: false }, InfBoundary.PositiveInfinity),
      );
    },

    close: () => handle.close(),
  };
  return store;
}
