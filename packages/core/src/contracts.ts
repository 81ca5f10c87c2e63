/**
 * The two contracts every backend implements: `Store` (L2) and `InvalidationBus` (the ordered
 * invalidation log). Core owns every key and every stored byte; adapters move opaque strings.
 *
 * Key rules adapters may rely on (core guarantees them):
 * - Keys are printable ASCII (identifiers are encoded by core), at most a few hundred bytes.
 * - A key that belongs to one user carries that user's cluster hash tag `{...}`, and so do the
 *   fence counter and the first owner index passed with it: atomic work for one user stays in
 *   one slot. Further owners (a team index) may sit in another slot: adapters update those with
 *   separate per-slot commands, not atomically, and say so.
 */

/** Called to stop a subscription or a listener. Safe to call more than once. */
export type Unsubscribe = () => void;

/** Connection health of a bus follower, as seen by the cache. */
export type BusState = "up" | "down";

/** The stale-fill guard: a write happens only while the counter at `key` still reads `value`
 *  (a missing counter reads 0). Core bumps the counter with `incr` on every invalidation. */
export interface Fence {
  readonly key: string;
  readonly value: number;
}

/** Whether `member` is a live (unexpired) member of the set at `set`. */
export interface MemberCheck {
  readonly set: string;
  readonly member: string;
}

/** What `Store.read` returns: one slot per requested key and per requested member check. */
export interface ReadResult {
  /** `values[i]` is the live value of `keys[i]`, or `undefined` when there is none. */
  readonly values: (string | undefined)[];
  /** `members[i]` is true when `members[i]` of the request is a live member. */
  readonly members: boolean[];
}

/** L2. Values are opaque strings, round-tripped byte for byte. `undefined` means no live entry.
 *  Every method may reject (network, timeout): core wraps every call in its failure policy.
 *  Every `expiresAt` core passes is a finite epoch ms at most `MAX_LIFETIME_MS` (10 years)
 *  from now, so any deadline a server can hold will do. */
export interface Store {
  /** A short name for logs and stats ("memory", "redis", "valkey", "libsql"). */
  readonly name: string;
  /** Returns the live value of `key`, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Returns the live values of `keys`, position for position (undefined where absent). */
  getMany(keys: string[]): Promise<(string | undefined)[]>;
  /** Returns values and member checks in one round trip (the context read on an L1 miss). */
  read(keys: string[], members: MemberCheck[]): Promise<ReadResult>;
  /** Stores `value` until `expiresAt` (absolute epoch ms) and records `key` under each owner
   *  index. A deadline already past is accepted and leaves no live value. */
  set(key: string, value: string, expiresAt: number, owners?: string[]): Promise<void>;
  /** Like `set`, but only if `fence` still holds its expected value; atomic with the check.
   *  Returns true if written, false if the fence had moved (nothing written). */
  setIfFence(
    key: string,
    value: string,
    expiresAt: number,
    fence: Fence,
    owners?: string[],
  ): Promise<boolean>;
  /** Deletes `keys` (absent keys are ignored). Resolves once they are gone. */
  deleteMany(keys: string[]): Promise<void>;
  /** Deletes every key recorded under `owner`, and the index itself. Cost grows with that
   *  owner's entries, never with the size of the keyspace (no keyspace iteration, no patterns). */
  deleteOwner(owner: string): Promise<void>;
  /** Atomically adds 1 to the counter at `key` (missing = 0) and returns the new value. When
   *  `expiresAt` is given, the counter lives at least until then. */
  incr(key: string, expiresAt?: number): Promise<number>;
  /** Returns the counter at `key` (0 when missing). */
  getCounter(key: string): Promise<number>;
  /** Adds `member` to the set at `set`, live until `expiresAt` (a later deadline for the same
   *  member wins; an earlier one never shortens it). Expired members are pruned so the set
   *  stays bounded by its live members. */
  addMember(set: string, member: string, expiresAt: number): Promise<void>;
  /** Returns true if `member` is a live member of `set`. */
  hasMember(set: string, member: string): Promise<boolean>;
  /** Returns the number of live members of `set` (for stats and bounded-memory tests). */
  countMembers(set: string): Promise<number>;
  /** Optional. Where this store's keys live, as an opaque string (`redisKeyspace` of
   *  `@authcache/redis-protocol` for the Redis-family adapters: one server, one database).
   *  Declared only when a bus whose `keyspace` is the same string writes exactly the keys this
   *  store reads, with the same meaning (see `InvalidationBus.publishAfter`); left undefined
   *  when that cannot be promised (a cluster, a store that waits for replicas). */
  readonly keyspace?: string;
  /** Releases what the store opened (never a client it was given). Idempotent. */
  close(): Promise<void>;
}

/**
 * A store write a bus can carry ahead of its append (`InvalidationBus.publishAfter`), as the
 * `Store` method of the same name would make it:
 * - "addMember": `Store.addMember(set, member, expiresAt)`;
 * - "delete": `Store.deleteMany(keys)`.
 */
export type StoreWrite =
  | {
      readonly op: "addMember";
      readonly set: string;
      readonly member: string;
      readonly expiresAt: number;
    }
  | { readonly op: "delete"; readonly keys: readonly string[] };

/** One entry of the invalidation log. Adapters transport these as the string produced by
 *  `encodeMessage` and read them back with `decodeMessage` (which rejects malformed input). */
export type InvalidationMessage =
  /** Everything cached about a user. */
  | ({ readonly type: "user"; readonly email: string } & Hashed)
  /** A token is revoked (until `expiresAt` when known). */
  | ({ readonly type: "revoke"; readonly jti: string; readonly expiresAt?: number } & Hashed)
  /** Many tokens revoked at once (`syncRevokedTokens`), each until its own deadline. Core
   *  splits a sync into several of these so each stays far below `MAX_LOG_ENTRY_BYTES`. */
  | ({ readonly type: "revokeMany"; readonly revocations: readonly RevokedToken[] } & Hashed)
  /** One role of one user in one team. */
  | ({ readonly type: "role"; readonly email: string; readonly teamId: string } & Hashed)
  /** Every role in one team. */
  | ({ readonly type: "teamRoles"; readonly teamId: string } & Hashed)
  /** A user's team lists. */
  | ({ readonly type: "teams"; readonly email: string } & Hashed)
  /** A user's membership checks. */
  | ({ readonly type: "membership"; readonly email: string } & Hashed)
  /** A user's team-derived entries: roles, team lists, membership checks and contexts. */
  | ({ readonly type: "team"; readonly email: string } & Hashed)
  /** Every kind, on every instance; revocations survive. */
  | { readonly type: "all"; readonly generation: number };

/** How the identifiers of an entry are written. */
export interface Hashed {
  /** Absent: the identifiers as given. Present (a cache with `hashIdentifiers`): each
   *  identifier is its keyed HMAC, as in L2 keys, and this is the key's fingerprint
   *  (`KeyCodec.keyId`), so a follower with another key, or none, knows it cannot read them. */
  readonly hashed?: string;
}

/** One revoked token of a `revokeMany` entry: revoked until `expiresAt` (epoch ms). */
export interface RevokedToken {
  readonly jti: string;
  readonly expiresAt: number;
}

/** Why a bus follower reset:
 * - "epoch": the log has a new identity (flushed, recreated, lost with a server that had no
 *   persistence); nothing acknowledged in the old log is known to be lost;
 * - "gap": entries the follower had not read are gone (trimmed, deleted) or its position is
 *   unknown (it could not read for a while): benign, the L1 flush covers them;
 * - "lost": in the same epoch, the log's head went back below entries the follower had
 *   applied, or a sequence number it had applied was issued again: acknowledged writes were
 *   lost (asynchronous replication and a failover). */
export type ResetCause = "epoch" | "gap" | "lost";

/** Callbacks a bus follower drives, in log order. */
export interface BusHandlers {
  /** An entry of the log, delivered in order, each once per subscription. */
  message(message: InvalidationMessage): void;
  /** The follower may have missed entries (the log was trimmed past its position, or its
   *  position is unknown after a restart of the log): the cache flushes its L1. `cause`, when
   *  the bus knows it, says why; "lost" means the log lost entries it had acknowledged (a
   *  failover to a replica that never received them): the writes that went with them (L2
   *  deletes, fence bumps) may be lost too, so the cache invalidates everything. */
  reset(cause?: ResetCause): void;
  /** The follower has just confirmed it has applied the log up to its end, at epoch ms `at`
   *  (an empty blocking read that returned, or a poll that found nothing newer). Core trusts
   *  its L1 only while the last confirmation is younger than `maxStaleMs`. */
  caughtUp(at: number): void;
}

/** Cross-instance invalidation: an ordered log that every instance follows, not fire-and-forget
 *  pub/sub. Separate from Store so backends can be mixed (libSQL L2 + Redis log). */
export interface InvalidationBus {
  /** A short name for logs and stats. */
  readonly name: string;
  /** Appends to the log; resolves once the log has it (rejects if it could not be appended). */
  publish(message: InvalidationMessage): Promise<void>;
  /** Follows the log from its current end, in order, resuming from its last position after a
   *  reconnect. Confirms progress through `handlers.caughtUp` at least every
   *  `confirmIntervalMs` (an adapter option, default 250 ms) while healthy.
   *  Resolves once following has started; the returned function stops it. */
  subscribe(handlers: BusHandlers): Promise<Unsubscribe>;
  /** Listens to health changes: "up" once following works, "down" when a read or connection
   *  fails. Returns a function that stops listening. */
  onState(listener: (state: BusState) => void): Unsubscribe;
  /** Counts of entries dropped because they failed to decode. */
  readonly dropped: number;
  /** Optional, with `publishAfter`: where the keys `publishAfter` writes live (see
   *  `Store.keyspace`). Core uses `publishAfter` only when its store declares the same string. */
  readonly keyspace?: string;
  /**
   * Optional: the ordered publish. Makes `writes` in the store whose `keyspace` equals this
   * bus's, in order, and then appends `message`, so that no follower can read the entry before
   * every write is visible to every reader of that store (one atomic script on the server that
   * holds both the keys and the log). The entry is never appended unless every write was made.
   * Resolves once the log has the entry (and any durability the bus promises for an append
   * holds for the writes too); rejects otherwise, and then nothing may be assumed: some writes,
   * or all of them and the entry, may have happened. Core then makes the writes through the
   * store and publishes again (today's order; the writes are idempotent and so is applying an
   * entry twice), so failures are reported as store and bus failures, as without it.
   */
  publishAfter?(writes: readonly StoreWrite[], message: InvalidationMessage): Promise<void>;
  /** Stops following and releases what the bus opened (never a client it was given). */
  close(): Promise<void>;
}
