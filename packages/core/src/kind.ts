import type { EntryKind, Envelope } from "./envelope.ts";
import type { KeyCodec, UserOwnerKind } from "./key-codec.ts";
import { addressKey, type L1Address, type L1Space, localTags, type Tags } from "./l1-address.ts";
import type { ResolvedOptions } from "./options.ts";

/** Returned by {@link Kind.accept} for a decoded value of the wrong shape. */
export const INVALID: unique symbol = Symbol("authcache.invalid");
export type Invalid = typeof INVALID;

/** Which `ttl` option a kind lives by (`ctx` is min(user, revocation, team)). */
export type TtlName = keyof ResolvedOptions["ttl"];

/** Where one entry lives in L2 (built only on an L1 miss: encoding costs). */
export interface L2Plan {
  readonly key: string;
  /** The user's fence counter; the fill is a setIfFence on it. */
  readonly fenceKey: string | undefined;
  /** Roles: the team's generation counter (an entry older than it is dead). */
  readonly teamGenKey: string | undefined;
  /** Contexts with a jti and "not revoked" entries: checked against the revoked set. */
  readonly revokedMember: string | undefined;
  /** Owner indexes; the first shares the key's slot. */
  readonly owners: string[];
}

/**
 * One kind of entry, declared once: everything core needs to address, store, accept and
 * invalidate its entries. An entry is named by `id` (an e-mail, or a jti) and `P`, the rest of
 * its identity (a jti, a team id, a flag, a canonical list of team ids; `undefined` if none).
 * `V` is the value a read returns.
 */
export interface Kind<V, P> {
  /** Names the kind in stored entries (the envelope's `k`). */
  readonly tag: EntryKind;
  /** The `ttl` option its entries live by. */
  readonly ttl: TtlName;
  /** Whether a loader's `null` is a value to cache (a role: "not a member") rather than
   *  "nothing to cache". */
  readonly nullIsValue: boolean;
  /** The L1 space of an entry (its pair there is (`id`, {@link sub})). */
  space(p: P): L1Space;
  sub(p: P): string;
  /** The jti the entry answers for, if any (a revoked jti's entries are never cached). */
  jti(id: string, p: P): string | undefined;
  /** The owner tags of the entry: an invalidation carrying one of them drops it. */
  owners(t: Tags, id: string, p: P): string[];
  /** Where the entry lives in L2. */
  l2(codec: KeyCodec, id: string, p: P): L2Plan;
  /** For a kind whose entries belong to a user (`id` is an e-mail): what a per-user
   *  invalidation drops of it in L2, once it carries one of `tags` (see invalidations.ts). */
  readonly perUser?: PerUser;
  /** The value of a decoded L2 entry (a fresh object nobody else holds), or INVALID. May
   *  throw: a counted miss too. The value's nesting is NOT checked before (it is walked once,
   *  here): a kind that walks it bounds the walk by MAX_VALUE_DEPTH (`adoptUser` does). */
  accept(envelope: Envelope, redact: readonly string[]): V | Invalid;
  /** A checked, frozen copy of a value the application gave (a set or a loader result):
   *  TypeError naming `argument` for the wrong shape. */
  copy(value: unknown, redact: readonly string[], argument: string): V;
  /** True when `value` is stored as "known absent" (the envelope carries no value). */
  absent(value: V): boolean;
}

/** A kind's entries of one user, as per-user invalidations see them. */
export interface PerUser {
  /** The owner tags every entry of the kind of `email` carries (built with `t`). */
  tags(t: Tags, email: string): string[];
  /** How L2 drops them all: by the user's owner index of the kind (an open-ended set of
   *  keys), or by their keys (a few known keys). */
  drop(
    codec: KeyCodec,
    email: string,
  ): { readonly owner: UserOwnerKind } | { readonly keys: string[] };
}

/** One entry of one kind, resolved for the tiers: what a read-then-fill works with. */
export interface Plan<V> {
  readonly tag: EntryKind;
  readonly l1: L1Address;
  /** The entry's identity for singleflight and the kept misses. */
  readonly key: string;
  readonly ttl: number;
  readonly jti: string | undefined;
  readonly nullIsValue: boolean;
  /** The L1 owner tags (local, plus the hashed ones under `hashIdentifiers`). */
  readonly owners: readonly string[];
  l2(): L2Plan;
  accept(envelope: Envelope): V | Invalid;
  absent(value: V): boolean;
}

/** What resolving a plan needs from its cache. */
export interface PlanContext {
  readonly codec: KeyCodec;
  readonly ttl: ResolvedOptions["ttl"];
  readonly redact: readonly string[];
  /** Tags by hashed identifier (under `hashIdentifiers`), added to the local ones. */
  readonly hashedTags: Tags | undefined;
}

/** The entry (`id`, `p`) of `kind`, resolved for the tiers (on an L1 miss only). */
export function planOf<V, P>(kind: Kind<V, P>, id: string, p: P, c: PlanContext): Plan<V> {
  return new KindPlan(kind, id, p, c);
}

/** A {@link Plan}: its L2 keys and its identity string are built when first asked for (an L2
 *  hit never needs the identity; a set asks for the keys twice), no closure per plan. */
class KindPlan<V, P> implements Plan<V> {
  readonly tag: EntryKind;
  readonly l1: L1Address;
  readonly ttl: number;
  readonly jti: string | undefined;
  readonly nullIsValue: boolean;
  readonly owners: readonly string[];
  private keyMemo: string | undefined;
  private l2Memo: L2Plan | undefined;

  constructor(
    private readonly kind: Kind<V, P>,
    private readonly id: string,
    private readonly p: P,
    private readonly c: PlanContext,
  ) {
    this.tag = kind.tag;
    this.l1 = { space: kind.space(p), group: id, sub: kind.sub(p) };
    this.ttl = c.ttl[kind.ttl];
    this.jti = kind.jti(id, p);
    this.nullIsValue = kind.nullIsValue;
    const owners = kind.owners(localTags, id, p);
    if (c.hashedTags !== undefined) owners.push(...kind.owners(c.hashedTags, id, p));
    this.owners = owners;
  }

  get key(): string {
    if (this.keyMemo === undefined) this.keyMemo = addressKey(this.l1);
    return this.keyMemo;
  }

  l2(): L2Plan {
    if (this.l2Memo === undefined) this.l2Memo = this.kind.l2(this.c.codec, this.id, this.p);
    return this.l2Memo;
  }

  accept(envelope: Envelope): V | Invalid {
    return this.kind.accept(envelope, this.c.redact);
  }

  absent(value: V): boolean {
    return this.kind.absent(value);
  }
}
