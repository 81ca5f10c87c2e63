/**
 * The explorer's vocabulary: plain-data actions (so fast-check shrinks them and a failure
 * prints as a readable list). Instances, entries, loads and variants are small naturals taken
 * modulo what exists, so any shrunk sequence still runs.
 */
import fc from "fast-check";
import { EMAILS, ENTITIES, type Entity, JTIS, TEAMS } from "./model.ts";

export type BusFault = "deaf" | "hear" | "cut" | "reconnect" | "dup" | "slow" | "append";
export type StoreFault = "hang" | "ok" | "step" | "lose" | "fail";
export type LogFault = "trim" | "remove" | "recreate";
export type Change = "user" | "role" | "member" | "revoke" | "all";

export type Action =
  /** A cache read (get*, a Sync get when `sync` and the kind has one, isTokenRevoked). */
  | { readonly op: "read"; readonly i: number; readonly x: number; readonly sync: boolean }
  /** A resolve* whose loader is `slow` (held until a `finish`; `late` then reads the database
   *  when the load finishes instead of when it starts) or answers at once. */
  | {
      readonly op: "resolve";
      readonly i: number;
      readonly x: number;
      readonly slow: boolean;
      readonly late: boolean;
    }
  /** The app pattern, `n` requests at once: get; on a miss, load (slow) and set (the Sync pair
   *  when `sync` and the kind has one). */
  | {
      readonly op: "app";
      readonly i: number;
      readonly x: number;
      readonly n: number;
      readonly sync: boolean;
      readonly slow: boolean;
      readonly late: boolean;
    }
  /** Finishes one outstanding load (the k-th, modulo), or all of them. */
  | { readonly op: "finish"; readonly k: number; readonly all: boolean }
  /** A database write that changes entry x (k picks among the writes that can: see
   *  changeOf), then the app's invalidation call(s) on instance i (v picks which of the
   *  correct calls the app uses). */
  | {
      readonly op: "change";
      readonly i: number;
      readonly x: number;
      readonly k: number;
      readonly v: number;
    }
  /** Moves the clock; with `confirm`, every hearing follower confirms it is caught up. */
  | { readonly op: "advance"; readonly ms: number; readonly confirm: boolean }
  | { readonly op: "tick" }
  | { readonly op: "bus"; readonly i: number; readonly f: BusFault }
  /** A fault on the shared log: trimmed to its newest `keep` entries, one unread entry deleted,
   *  or the log recreated (a new epoch); a follower that missed something must reset. */
  | { readonly op: "log"; readonly f: LogFault; readonly keep: number }
  | { readonly op: "store"; readonly i: number; readonly f: StoreFault }
  | { readonly op: "close"; readonly i: number }
  | { readonly op: "reopen"; readonly i: number }
  /** Every instance reads every entry (get*): the oracle looks everywhere at once. */
  | { readonly op: "sweep" }
  /** Instance i reads every entry (resolve*, instant loads): a warm cache. */
  | { readonly op: "warm"; readonly i: number }
  /** `n` get misses of distinct unknown users on one instance (a busy instance). */
  | { readonly op: "flood"; readonly i: number; readonly n: number };

const inst = fc.nat(2);
/** True one time in four (a load that reads the database when it ends is fresh: the races
 *  need the other kind). */
const rarely = fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true));
// Biased towards a few entries of one user, so reads, loads and changes meet often.
const entity = fc.oneof(
  { weight: 3, arbitrary: fc.nat(4) },
  { weight: 2, arbitrary: fc.nat(ENTITIES.length - 1) },
);

/** The database write a `change` action makes: which kind, on which user, team and token. */
export function changeOf(a: { readonly x: number; readonly k: number }): {
  m: Change;
  e: string;
  t: string;
  j: string;
} {
  const x = ENTITIES[a.x % ENTITIES.length] as Entity;
  const kinds: Record<Entity["k"], Change[]> = {
    user: ["user"],
    role: ["role", "member"],
    teams: ["member"],
    mem: ["member"],
    ctx: ["user", "revoke"],
    rev: ["revoke"],
  };
  const list = kinds[x.k];
  // A bulk change (invalidateAll) flushes every L1: kept rare, or little stays cached.
  const m = a.k % 12 === 11 ? "all" : (list[a.k % list.length] as Change);
  const e = "e" in x ? x.e : (EMAILS[a.k % EMAILS.length] as string);
  const t =
    x.k === "role"
      ? x.t
      : x.k === "mem"
        ? (x.ts[a.k % x.ts.length] as string)
        : (TEAMS[a.k % TEAMS.length] as string);
  const j = "j" in x && x.j !== null ? x.j : (JTIS[a.k % JTIS.length] as string);
  return { m, e, t, j };
}

const allActions: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant("read" as const),
      i: inst,
      x: entity,
      sync: fc.boolean(),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("resolve" as const),
      i: inst,
      x: entity,
      slow: fc.boolean(),
      late: rarely,
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      op: fc.constant("app" as const),
      i: inst,
      x: entity,
      n: fc.integer({ min: 1, max: 3 }),
      sync: fc.boolean(),
      slow: fc.boolean(),
      late: rarely,
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({ op: fc.constant("finish" as const), k: fc.nat(3), all: fc.boolean() }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      op: fc.constant("change" as const),
      i: inst,
      x: entity,
      k: fc.nat(11),
      v: fc.nat(2),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ms: fc.constantFrom(1001, 1, 300, 999, 2500),
      confirm: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ op: "tick" as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("bus" as const),
      i: inst,
      f: fc.constantFrom<BusFault>("deaf", "hear", "cut", "reconnect", "dup", "slow", "append"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("log" as const),
      f: fc.constantFrom<LogFault>("trim", "remove", "recreate"),
      keep: fc.nat(2),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("store" as const),
      i: inst,
      f: fc.constantFrom<StoreFault>("hang", "ok", "step", "lose", "fail"),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("warm" as const), i: inst }) },
  { weight: 4, arbitrary: fc.constant({ op: "sweep" as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), i: inst }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reopen" as const), i: inst }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("flood" as const),
      i: inst,
      n: fc.constantFrom(1100, 4200),
    }),
  },
);

/** Every action, minus those named in `skip` (an op such as "close", or "change:<m>" for a
 *  kind of database change): to look past a known failure while it is being fixed. */
export function actionArb(skip: readonly string[] = []): fc.Arbitrary<Action> {
  if (skip.length === 0) return allActions;
  return allActions.filter(
    (a) => !skip.includes(a.op) && !(a.op === "change" && skip.includes(`change:${changeOf(a).m}`)),
  );
}

/** `AUTHCACHE_EXPLORE_SKIP` as a list. */
export function skipFromEnv(): string[] {
  return (process.env.AUTHCACHE_EXPLORE_SKIP ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** One action per line, compact. */
export function formatActions(actions: readonly Action[]): string {
  return actions.map((a, n) => `  ${String(n + 1).padStart(2)}. ${JSON.stringify(a)}`).join("\n");
}
