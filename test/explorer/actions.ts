/**
 * The explorer's vocabulary: plain-data actions (so fast-check shrinks them and a failure
 * prints as a readable list). Instances, entries, loads and variants are small naturals taken
 * modulo what exists, so any shrunk sequence still runs.
 */
import fc from "fast-check";
import { ENTITIES } from "./model.ts";

export type BusFault = "deaf" | "hear" | "cut" | "reconnect" | "dup";
export type StoreFault = "hang" | "ok" | "step" | "lose" | "fail";
export type Change = "user" | "role" | "member" | "revoke" | "all";

export type Action =
  /** A cache read (get*, a Sync get when `sync` and the kind has one, isTokenRevoked). */
  | { readonly op: "read"; readonly i: number; readonly x: number; readonly sync: boolean }
  /** A resolve* with a slow loader (held until a `finish`); `late` reads the database when the
   *  load finishes instead of when it starts. */
  | { readonly op: "resolve"; readonly i: number; readonly x: number; readonly late: boolean }
  /** The app pattern, `n` requests at once: get; on a miss, load (slow) and set (the Sync pair
   *  when `sync` and the kind has one). */
  | {
      readonly op: "app";
      readonly i: number;
      readonly x: number;
      readonly n: number;
      readonly sync: boolean;
      readonly late: boolean;
    }
  /** Finishes one outstanding load (the k-th, modulo), or all of them. */
  | { readonly op: "finish"; readonly k: number; readonly all: boolean }
  /** A database write, then the app's invalidation call(s) on instance i (variant v picks
   *  which of the correct calls the app uses). */
  | {
      readonly op: "change";
      readonly i: number;
      readonly m: Change;
      readonly e: number;
      readonly t: number;
      readonly j: number;
      readonly v: number;
    }
  /** Moves the clock; with `confirm`, every hearing follower confirms it is caught up. */
  | { readonly op: "advance"; readonly ms: number; readonly confirm: boolean }
  | { readonly op: "tick" }
  | { readonly op: "bus"; readonly i: number; readonly f: BusFault }
  /** Trims the log to its newest `keep` entries (a follower behind them must reset). */
  | { readonly op: "trim"; readonly keep: number }
  | { readonly op: "store"; readonly i: number; readonly f: StoreFault }
  | { readonly op: "close"; readonly i: number }
  | { readonly op: "reopen"; readonly i: number }
  /** `n` get misses of distinct unknown users on one instance (a busy instance). */
  | { readonly op: "flood"; readonly i: number; readonly n: number };

const inst = fc.nat(2);
const entity = fc.nat(ENTITIES.length - 1);

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
      late: fc.boolean(),
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
      late: fc.boolean(),
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
      m: fc.constantFrom<Change>("role", "member", "user", "revoke", "all"),
      e: fc.nat(1),
      t: fc.nat(1),
      j: fc.nat(2),
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
      f: fc.constantFrom<BusFault>("deaf", "hear", "cut", "reconnect", "dup"),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("trim" as const), keep: fc.nat(2) }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("store" as const),
      i: inst,
      f: fc.constantFrom<StoreFault>("hang", "ok", "step", "lose", "fail"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), i: inst }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reopen" as const), i: inst }) },
  {
    weight: 1,
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
    (a) => !skip.includes(a.op) && !(a.op === "change" && skip.includes(`change:${a.m}`)),
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
