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
import { script } from "./scripts.ts";
import { groupBySlot, keySlot } from "./slot.ts";

/** Options of `createValkeyStore`. */
export interface ValkeyStoreOptions extends ValkeyConnectionOptions {
  /** Most requests this store keeps in flight on its client; the rest wait in a queue.
   *  Default: the `inflightRequestsLimit` given in `clientConfig` (glide's default is 1000)
   *  for a client the store opens, 500 for a client it is given (which others may share). */
  readonly maxInFlight?: number;
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

/** Deadlines go to the server as whole milliseconds; rounding up never shortens a lifetime. */
const ms = (t: number): string => String(Math.ceil(t));

/**
 * A Store on Valkey or Redis through valkey-glide, standalone or cluster.
 *
 * - Entries are strings with a PXAT deadline. Owner indexes and member sets are sorted sets
 *   scored by expiry, pruned of expired members on every add, so they stay bounded by what
 *   is live. No SCAN, KEYS or pattern anywhere.
 * - `set`/`setIfFence` are one script over the entry, its fence and every owner index in the
 *   entry's slot (atomic). Owner indexes in other slots (a team's) are updated first, each by
 *   its own script in its own slot: not atomic with the write. A crash in between leaves an
 *   index member whose key was never written, which is harmless.
 * - `deleteOwner` is one atomic script on a standalone server. In a cluster it reads the index,
 *   deletes the members in other slots with one DEL per slot, then deletes the members in the
 *   index's slot and unindexes everything it read in one script: never a CROSSSLOT error, but
 *   not atomic across slots.
 * - `read` is one pipeline (glide splits it per node in a cluster and sends the parts
 *   concurrently): one round trip of latency whatever slots the keys sit in.
 */
export function createValkeyStore(options: ValkeyStoreOptions): ValkeyStore {
  const handle = new ClientHandle(options, "createValkeyStore");
  const given = options.client;
  const max =
    options.maxInFlight ?? (given ? 500 : (options.clientConfig?.inflightRequestsLimit ?? 1000));
  const limiter = new InFlightLimiter(max);
  const now = options.now ?? Date.now;
  handle.warm();

  /** Runs `fn` on the client under the in-flight cap. */
  const call = <T>(fn: (client: ValkeyClient) => Promise<T>): Promise<T> => {
    const ready = handle.ready;
    if (ready) return limiter.run(() => fn(ready));
    return handle.get().then((client) => limiter.run(() => fn(client)));
  };

  const invoke = (name: Parameters<typeof script>[0], keys: string[], args: string[]) =>
    call((c) => c.invokeScript(script(name), { keys, args }));

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

  const store: ValkeyStore = {
    name: options.name ?? "valkey",

    getClient: () => handle.get(),

    get inFlight() {
      return { active: limiter.active, queued: limiter.queued, max: limiter.max };
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

    async read(keys: string[], members: MemberCheck[]): Promise<ReadResult> {
      if (keys.length === 0 && members.length === 0) return { values: [], members: [] };
      const t = now();
      const raw = await call((c) => {
        const batch = isCluster(c) ? new ClusterBatch(false) : new Batch(false);
        for (const k of keys) batch.get(k);
        for (const m of members) batch.zscore(m.set, m.member);
        return isCluster(c)
          ? (c as GlideClusterClient).exec(batch as ClusterBatch, true)
          : (c as GlideClient).exec(batch as Batch, true);
      });
      if (!raw) throw new Error(`${PKG}: read pipeline returned nothing`);
      const values = keys.map((_, i) => str(raw[i] as GlideString | null));
      const found = members.map((_, i) => {
        const score = raw[keys.length + i];
        return typeof score === "number" && score > t;
      });
      return { values, members: found };
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
