import type { MemberCheck, Store } from "./contracts.ts";
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

/** Reads sent together at most (their keys and member checks go in one `store.read`). */
const MAX_BATCH = 128;

interface Pending {
  readonly into: ReadFences;
  readonly l2: L2Plan;
  readonly resolve: (raw: string | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The guarded L2 reads of one cache, batched: the L1 misses started in the same turn of the
 * event loop (up to {@link MAX_BATCH}) share one `store.read` (one round trip, one timeout),
 * each keeping what {@link readL2} gives it alone: its entry and fences, read together in that
 * one call (the global generation and a repeated key asked once). A lone read is sent as it is.
 * A failed or malformed reply fails every read of the batch; a malformed counter fails the read
 * it belongs to only.
 */
export class L2Reader {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly guard: Guard,
    private readonly codec: KeyCodec,
  ) {}

  read(into: ReadFences, l2: L2Plan): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.push({ into, l2, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += MAX_BATCH) {
      const batch = i === 0 && all.length <= MAX_BATCH ? all : all.slice(i, i + MAX_BATCH);
      if (batch.length === 1) {
        const r = batch[0] as Pending;
        readL2(this.store, this.guard, this.codec, r.into, r.l2).then(r.resolve, r.reject);
      } else {
        this.send(batch);
      }
    }
  };

  private send(batch: Pending[]): void {
    const keys: string[] = [];
    const at = new Map<string, number>();
    const slot = (key: string): number => {
      let i = at.get(key);
      if (i === undefined) {
        i = keys.push(key) - 1;
        at.set(key, i);
      }
      return i;
    };
    const members: MemberCheck[] = [];
    const memberAt = new Map<string, number>();
    const gen = slot(this.codec.generation());
    const plans = batch.map(({ l2 }) => {
      const entry = slot(l2.key);
      const fence = l2.fenceKey === undefined ? -1 : slot(l2.fenceKey);
      const team = l2.teamGenKey === undefined ? -1 : slot(l2.teamGenKey);
      let member = -1;
      if (l2.revokedMember !== undefined) {
        const m = memberAt.get(l2.revokedMember);
        if (m === undefined) {
          member = members.push({ set: this.codec.revoked(), member: l2.revokedMember }) - 1;
          memberAt.set(l2.revokedMember, member);
        } else {
          member = m;
        }
      }
      return { entry, fence, team, member };
    });
    this.guard
      .call("read", () => this.store.read(keys, members))
      .then(
        (r) => {
          if (!Array.isArray(r?.values) || r.values.length !== keys.length) {
            const e = new TypeError("read() returned the wrong number of values");
            for (const p of batch) p.reject(e);
            return;
          }
          for (let i = 0; i < batch.length; i++) {
            const p = batch[i] as Pending;
            const s = plans[i] as (typeof plans)[number];
            try {
              const into = p.into;
              into.g = counter(r.values[gen]);
              if (s.fence >= 0) into.fence = counter(r.values[s.fence]);
              if (s.team >= 0) into.tg = counter(r.values[s.team]);
              into.revoked = s.member >= 0 && r.members?.[s.member] === true;
              into.readOk = true;
              const v = r.values[s.entry];
              p.resolve(typeof v === "string" ? v : undefined);
            } catch (e) {
              p.reject(e);
            }
          }
        },
        (e: unknown) => {
          for (const p of batch) p.reject(e);
        },
      );
  }
}
