import type { MemberCheck, ReadResult, Store } from "./contracts.ts";
import type { Guard } from "./guard.ts";
import type { KeyCodec } from "./key-codec.ts";
import type { L2Plan } from "./kind.ts";

/** What one L2 read records (in the ticket of the read-then-fill it starts). */
export interface ReadFences {
  readOk: boolean;
  revoked: boolean;
  fence: number;
  g: number;
  tg: number | undefined;
  /** The entry as read (undefined: none), until the caller takes it. */
  raw: string | undefined;
  /** Why the read failed (the call, its reply, or one of its counters); undefined if it did
   *  not. The caller takes it. */
  readError: unknown;
}

/** Reads sent together at most (their keys and member checks go in one `store.read`). */
const MAX_BATCH = 128;

/** The reads of one `store.read`, and the one promise they all wait on. */
class Batch {
  readonly reads: ReadFences[] = [];
  readonly plans: L2Plan[] = [];
  readonly done: Promise<void>;
  resolve!: () => void;

  constructor() {
    this.done = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
  }
}

/**
 * The guarded L2 reads of one cache, batched: the L1 misses started in the same turn of the
 * event loop (up to {@link MAX_BATCH} per call) share one `store.read` (one round trip, one
 * timeout): the global generation once, then each read's entry, the user's fence and the team
 * generation (when its kind has them), and each read's revoked-set check. Each read keeps its
 * own result in the fences it was given: its entry and counters, or the reason it failed. A
 * failed call or a malformed reply fails every read of the batch; a malformed counter fails
 * the read it belongs to only.
 *
 * Every read of a batch waits on the batch's one promise, which never rejects (the outcome is
 * in each read's fences): no promise or closure per read.
 */
export class L2Reader {
  /** Batches of the current turn, not sent yet (the last one open). */
  private batches: Batch[] = [];

  constructor(
    private readonly store: Store,
    private readonly guard: Guard,
    private readonly codec: KeyCodec,
  ) {}

  /** Reads `l2` into `into`; resolves (never rejects) once `into` holds the outcome. */
  read(into: ReadFences, l2: L2Plan): Promise<void> {
    const batches = this.batches;
    let b = batches[batches.length - 1];
    if (b === undefined || b.reads.length >= MAX_BATCH) {
      if (b === undefined) queueMicrotask(this.flush);
      b = new Batch();
      batches.push(b);
    }
    b.reads.push(into);
    b.plans.push(l2);
    return b.done;
  }

  private readonly flush = (): void => {
    const batches = this.batches;
    this.batches = [];
    for (const b of batches) this.send(b);
  };

  private send(b: Batch): void {
    const keys: string[] = [this.codec.generation()];
    const members: MemberCheck[] = [];
    const revoked = this.codec.revoked();
    for (const l2 of b.plans) {
      keys.push(l2.key);
      if (l2.fenceKey !== undefined) keys.push(l2.fenceKey);
      if (l2.teamGenKey !== undefined) keys.push(l2.teamGenKey);
      if (l2.revokedMember !== undefined) members.push({ set: revoked, member: l2.revokedMember });
    }
    const store = this.store;
    this.guard
      .call("read", () => store.read(keys, members))
      .then(
        (r) => {
          try {
            settle(b, keys.length, members.length, r);
          } catch (e) {
            fail(b, e);
          }
        },
        (e: unknown) => fail(b, e),
      );
  }
}

/** Spreads a reply over the reads of its batch (positions as {@link L2Reader.send} laid
 *  them out), then wakes them. */
function settle(b: Batch, keyCount: number, memberCount: number, r: ReadResult): void {
  const values = r?.values;
  const flags = r?.members;
  if (!Array.isArray(values) || values.length !== keyCount) {
    fail(b, new TypeError("read() returned the wrong number of values"));
    return;
  }
  // A missing flag is not "not revoked": a reply without every flag asked for fails the batch.
  if (memberCount > 0 && (!Array.isArray(flags) || flags.length !== memberCount)) {
    fail(b, new TypeError("read() returned the wrong number of member flags"));
    return;
  }
  let g = 0;
  let gError: unknown;
  try {
    g = counter(values[0]);
  } catch (e) {
    gError = e;
  }
  const plans = b.plans;
  const reads = b.reads;
  let at = 1;
  let m = 0;
  for (let i = 0; i < reads.length; i++) {
    const l2 = plans[i] as L2Plan;
    const into = reads[i] as ReadFences;
    const entry = at++;
    const fence = l2.fenceKey === undefined ? -1 : at++;
    const team = l2.teamGenKey === undefined ? -1 : at++;
    const member = l2.revokedMember === undefined ? -1 : m++;
    try {
      if (gError !== undefined) throw gError;
      into.g = g;
      if (fence >= 0) into.fence = counter(values[fence]);
      if (team >= 0) into.tg = counter(values[team]);
      if (member >= 0) {
        const flag = flags?.[member];
        if (typeof flag !== "boolean")
          throw new TypeError("read() returned a member flag that is not a boolean");
        into.revoked = flag;
      } else into.revoked = false;
      into.readOk = true;
      const v = values[entry];
      into.raw = typeof v === "string" ? v : undefined;
    } catch (e) {
      into.readError = e;
    }
  }
  b.resolve();
}

function fail(b: Batch, e: unknown): void {
  const error = e === undefined ? new Error("store read failed (rejected with undefined)") : e;
  for (const into of b.reads) into.readError = error;
  b.resolve();
}

function counter(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`counter holds ${raw}`);
  return n;
}
