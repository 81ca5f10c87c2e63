import type { Store } from "@authcache/core";
import type { Fence, MemberCheck, ReadResult, StoreWrite } from "@authcache/core/adapter";

/** Options of `createMemoryStore`. */
export interface MemoryStoreOptions {
  /** The clock, epoch ms (default `Date.now`). Tests pass a fake one to skip waiting. */
  readonly now?: () => number;
}

/** A `Store` that keeps everything in this process, plus counts for tests and stats. */
export interface MemoryStore extends Store {
  /** Entries held (values and counters), live or not yet swept. Bounded: see `sweepStep`. */
  readonly size: number;
  /** Owner indexes held. An index disappears with its last key. */
  readonly ownerCount: number;
  /** Member sets held. A set disappears with its last member. */
  readonly setCount: number;
  /** A token of this store object, new for every `createMemoryStore()` (its data is its own):
   *  a memory bus given this store (`createMemoryBus({ store })`) declares the same one and
   *  makes a revocation's writes here with its append (`publishAfter`). */
  readonly keyspace: string;
}

/** Applies `writes` to a memory store synchronously, all or none (see `memoryStoreWriter`). */
export type MemoryStoreWriter = (writes: readonly StoreWrite[]) => void;

/** The writer of each store `createMemoryStore` made, by object: only the very store object a
 *  bus is given is written by it (a lookup, not a property anyone could copy or forge). */
const writers = new WeakMap<object, MemoryStoreWriter>();

/** The synchronous writer of a store made by `createMemoryStore` (of this module instance), or
 *  undefined for any other object. */
export function memoryStoreWriter(store: unknown): MemoryStoreWriter | undefined {
  return typeof store === "object" && store !== null ? writers.get(store) : undefined;
}

let stores = 0;
/** Unique per store object, also across copies of this module loaded side by side (src and
 *  dist in one process): a counter alone could repeat there. */
const newKeyspace = (): string => {
  stores += 1;
  const random =
    typeof globalThis.crypto?.randomUUID === "function"
      ? globalThis.crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `memory:${random}:${stores}`;
};

/** Checks one write's shape before any is made; the error names the field. */
function checkWrite(w: StoreWrite, i: number): void {
  const at = `${ERR}: writes[${i}]`;
  if (typeof w !== "object" || w === null) throw new TypeError(`${at} must be an object`);
  if (w.op === "addMember") {
    if (typeof w.set !== "string") throw new TypeError(`${at}.set must be a string`);
    if (typeof w.member !== "string") throw new TypeError(`${at}.member must be a string`);
    if (typeof w.expiresAt !== "number")
      throw new TypeError(`${at}.expiresAt must be a number, got ${typeof w.expiresAt}`);
  } else if (w.op === "delete") {
    if (!Array.isArray(w.keys) || !w.keys.every((k) => typeof k === "string"))
      throw new TypeError(`${at}.keys must be an array of strings`);
  } else {
    throw new TypeError(
      `${at}.op must be "addMember" or "delete", got ${JSON.stringify((w as { op?: unknown }).op)}`,
    );
  }
}

interface Entry {
  value: string;
  expiresAt: number;
  /** Owner indexes that list this key, so an expired or deleted key leaves none behind. */
  owners: Set<string> | undefined;
}

/** How many entries each write inspects for expiry. More than one per write, so expired entries
 *  are removed faster than writes can add them: the map never grows past its live entries plus
 *  a bounded backlog, without a timer. */
const SWEEP_PER_WRITE = 4;

const ERR = "@authcache/adapter-memory";

/**
 * Creates an in-process Store: a Map of entries with absolute deadlines, owner indexes as Sets,
 * member sets as Maps of member → deadline. Every operation runs synchronously inside one call,
 * so each is atomic (setIfFence's check and write included). Expired entries are removed on
 * access and by an incremental sweep on every write; no timer is used, so `close()` has nothing
 * to release and the store stays usable after it (caches sharing it are unaffected).
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const ownerIndex = new Map<string, Set<string>>();
  const sets = new Map<string, Map<string, number>>();
  let cursor: Iterator<[string, Entry]> | undefined;
  const setCursors = new Map<string, Iterator<[string, number]>>();

  const remove = (key: string, entry: Entry) => {
    entries.delete(key);
    if (!entry.owners) return;
    for (const owner of entry.owners) {
      const keys = ownerIndex.get(owner);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) ownerIndex.delete(owner);
    }
  };

  /** Inspects the next `n` entries in insertion order, wrapping around, removing expired ones. */
  const sweepStep = (n: number) => {
    const t = now();
    for (let i = 0; i < n && entries.size > 0; i++) {
      cursor ??= entries.entries();
      const next = cursor.next();
      if (next.done) {
        cursor = undefined;
        continue;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= t) remove(key, entry);
    }
  };

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > now()) return entry;
    remove(key, entry);
    return undefined;
  };

  const write = (key: string, value: string, expiresAt: number, owners?: string[]) => {
    sweepStep(SWEEP_PER_WRITE);
    const old = entries.get(key);
    if (!(expiresAt > now())) {
      if (old) remove(key, old);
      return;
    }
    const entry: Entry = { value, expiresAt, owners: old?.owners };
    entries.set(key, entry);
    if (!owners || owners.length === 0) return;
    entry.owners ??= new Set();
    for (const owner of owners) {
      entry.owners.add(owner);
      let keys = ownerIndex.get(owner);
      if (!keys) {
        keys = new Set();
        ownerIndex.set(owner, keys);
      }
      keys.add(key);
    }
  };

  const counter = (key: string): number => {
    const entry = live(key);
    if (!entry) return 0;
    const n = Number(entry.value);
    if (!Number.isSafeInteger(n)) throw new TypeError(`${ERR}: ${key} does not hold a counter`);
    return n;
  };

  const liveMember = (set: string, member: string): boolean => {
    const deadline = sets.get(set)?.get(member);
    return deadline !== undefined && deadline > now();
  };

  /** Prunes up to `n` members of one set, wrapping around, dropping the set when empty. */
  const pruneSet = (name: string, members: Map<string, number>, n: number) => {
    const t = now();
    let it = setCursors.get(name);
    for (let i = 0; i < n && members.size > 0; i++) {
      it ??= members.entries();
      const next = it.next();
      if (next.done) {
        it = undefined;
        continue;
      }
      if (next.value[1] <= t) members.delete(next.value[0]);
    }
    if (members.size === 0) {
      sets.delete(name);
      setCursors.delete(name);
    } else if (it) setCursors.set(name, it);
    else setCursors.delete(name);
  };

  const deleteKeys = (keys: readonly string[]) => {
    for (const key of keys) {
      const entry = entries.get(key);
      if (entry) remove(key, entry);
    }
  };

  const addMember = (set: string, member: string, expiresAt: number) => {
    let members = sets.get(set);
    if (members) pruneSet(set, members, SWEEP_PER_WRITE);
    if (!(expiresAt > now())) return;
    members = sets.get(set);
    if (!members) {
      members = new Map();
      sets.set(set, members);
    }
    const old = members.get(member);
    if (old === undefined || old < expiresAt) members.set(member, expiresAt);
  };

  /** The bus's ordered publish: every write checked first, then all made in one synchronous
   *  run (nothing else in the process runs in between), exactly as addMember / deleteMany. */
  const applyWrites: MemoryStoreWriter = (writes) => {
    if (!Array.isArray(writes)) throw new TypeError(`${ERR}: writes must be an array`);
    writes.forEach(checkWrite);
    for (const w of writes) {
      if (w.op === "addMember") addMember(w.set, w.member, w.expiresAt);
      else deleteKeys(w.keys);
    }
  };

  const store = {
    name: "memory",
    keyspace: newKeyspace(),
    get size() {
      return entries.size;
    },
    get ownerCount() {
      return ownerIndex.size;
    },
    get setCount() {
      return sets.size;
    },
    async get(key: string) {
      return live(key)?.value;
    },
    async getMany(keys: string[]) {
      return keys.map((k) => live(k)?.value);
    },
    async read(keys: string[], members: MemberCheck[]): Promise<ReadResult> {
      // One clock read for the whole read (the L1-miss path: a few keys, a member check).
      const t = now();
      const values: (string | undefined)[] = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const entry = entries.get(key);
        if (entry === undefined) {
          values[i] = undefined;
        } else if (entry.expiresAt > t) {
          values[i] = entry.value;
        } else {
          remove(key, entry);
          values[i] = undefined;
        }
      }
      const flags: boolean[] = new Array(members.length);
      for (let i = 0; i < members.length; i++) {
        const m = members[i] as MemberCheck;
        const deadline = sets.get(m.set)?.get(m.member);
        flags[i] = deadline !== undefined && deadline > t;
      }
      return { values, members: flags };
    },
    async set(key: string, value: string, expiresAt: number, owners?: string[]) {
      write(key, value, expiresAt, owners);
    },
    async setIfFence(
      key: string,
      value: string,
      expiresAt: number,
      fence: Fence,
      owners?: string[],
    ) {
      if (counter(fence.key) !== fence.value) return false;
      write(key, value, expiresAt, owners);
      return true;
    },
    async deleteMany(keys: string[]) {
      deleteKeys(keys);
    },
    async deleteOwner(owner: string) {
      const keys = ownerIndex.get(owner);
      if (!keys) return;
      ownerIndex.delete(owner);
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry) remove(key, entry);
      }
    },
    async incr(key: string, expiresAt?: number) {
      const n = counter(key) + 1;
      const old = entries.get(key); // live: counter() removed it if expired
      // A deadline only ever extends a counter; without one, it keeps its own (or none).
      const until = old
        ? Math.max(old.expiresAt, expiresAt ?? Number.NEGATIVE_INFINITY)
        : (expiresAt ?? Number.POSITIVE_INFINITY);
      write(key, String(n), until);
      return n;
    },
    async getCounter(key: string) {
      return counter(key);
    },
    async addMember(set: string, member: string, expiresAt: number) {
      addMember(set, member, expiresAt);
    },
    async hasMember(set: string, member: string) {
      return liveMember(set, member);
    },
    async countMembers(set: string) {
      const members = sets.get(set);
      if (!members) return 0;
      const t = now();
      for (const [member, deadline] of members) if (deadline <= t) members.delete(member);
      if (members.size === 0) {
        sets.delete(set);
        setCursors.delete(set);
      }
      return members.size;
    },
    async close() {},
  } satisfies MemoryStore;
  writers.set(store, applyWrites);
  return store;
}
