// Attack on the issue-18 L1 changes (helper F): a pair group that is the entry itself until it
// holds several (b7dc60a), hits that record neither recency nor frequency (925f656), owner tags
// held by the node itself (7b46928), the dense slot list and its sweep cursor. Random operation
// sequences against a model: whatever L1 answers was set, is still live and was dropped by no
// delete, owner invalidation or clear since (L1 may forget anything; it may never answer
// wrongly), and it never holds more than maxEntries.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { L1Cache } from "../../packages/core/src/l1-cache.ts";

type Op =
  | { op: "setPair"; space: number; group: number; sub: number; ttl: number; owners: number[] }
  | { op: "set"; key: number; ttl: number; owners: number[] }
  | { op: "getPair"; space: number; group: number; sub: number; peek: boolean }
  | { op: "get"; key: number; peek: boolean }
  | { op: "deletePair"; space: number; group: number; sub: number }
  | { op: "delete"; key: number }
  | { op: "deleteOwner"; owner: number }
  | { op: "sweep"; budget: number }
  | { op: "clear" }
  | { op: "tick"; ms: number };

const small = (n: number) => fc.integer({ min: 0, max: n - 1 });
const ttl = fc.constantFrom(-1, 0, 1, 3, 10, 1_000);
const owners = fc.array(small(6), { maxLength: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("setPair" as const),
      space: small(2),
      group: small(4),
      sub: small(4),
      ttl,
      owners,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("set" as const), key: small(6), ttl, owners }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("getPair" as const),
      space: small(2),
      group: small(4),
      sub: small(4),
      peek: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("get" as const), key: small(6), peek: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("deletePair" as const),
      space: small(2),
      group: small(4),
      sub: small(4),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), key: small(6) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("deleteOwner" as const), owner: small(6) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("sweep" as const),
      budget: fc.integer({ min: 0, max: 40 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "clear" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 5 }) }),
  },
);

interface Held {
  value: number;
  expiresAt: number;
  owners: Set<string>;
}

function run(
  maxEntries: number,
  ops: Op[],
  make: (maxEntries: number) => L1Cache<number> = (n) => new L1Cache<number>({ maxEntries: n }),
): void {
  const l1 = make(maxEntries);
  const model = new Map<string, Held>();
  let now = 1_000;
  let next = 0;
  const pairKey = (s: number, g: number, u: number) => `p${s}|g${g}|s${u}`;
  const tags = (o: number[]) => o.map((i) => `owner${i}`);
  const check = (key: string, got: number | undefined) => {
    if (got === undefined) return; // forgetting is allowed
    const held = model.get(key);
    if (held === undefined || held.value !== got || !(held.expiresAt > now)) {
      throw new Error(
        `L1 answered ${got} for ${key}; the model holds ${JSON.stringify(held)} at ${now}`,
      );
    }
  };
  for (const o of ops) {
    switch (o.op) {
      case "setPair":
      case "set": {
        const key = o.op === "set" ? `f${o.key}` : pairKey(o.space, o.group, o.sub);
        const value = ++next;
        const expiresAt = now + o.ttl;
        const t = tags(o.owners);
        if (o.op === "set") l1.set(`f${o.key}`, value, expiresAt, now, t);
        else l1.setPair(o.space, `g${o.group}`, `s${o.sub}`, value, expiresAt, now, t);
        if (expiresAt > now) model.set(key, { value, expiresAt, owners: new Set(t) });
        else model.delete(key);
        break;
      }
      case "getPair": {
        const key = pairKey(o.space, o.group, o.sub);
        const got = o.peek
          ? l1.peekPair(o.space, `g${o.group}`, `s${o.sub}`, now)
          : l1.getPair(o.space, `g${o.group}`, `s${o.sub}`, now);
        check(key, got);
        break;
      }
      case "get":
        check(`f${o.key}`, o.peek ? l1.peek(`f${o.key}`, now) : l1.get(`f${o.key}`, now));
        break;
      case "deletePair":
        l1.deletePair(o.space, `g${o.group}`, `s${o.sub}`);
        model.delete(pairKey(o.space, o.group, o.sub));
        break;
      case "delete":
        l1.delete(`f${o.key}`);
        model.delete(`f${o.key}`);
        break;
      case "deleteOwner": {
        const tag = `owner${o.owner}`;
        l1.deleteOwner(tag);
        for (const [k, h] of model) if (h.owners.has(tag)) model.delete(k);
        break;
      }
      case "sweep":
        l1.sweep(now, o.budget);
        break;
      case "clear":
        l1.clear();
        model.clear();
        break;
      case "tick":
        now += o.ms;
        break;
    }
    if (l1.size > maxEntries) throw new Error(`L1 holds ${l1.size} > ${maxEntries}`);
  }
  // Every key, at the end, through both lookups.
  for (let s = 0; s < 2; s++)
    for (let g = 0; g < 4; g++)
      for (let u = 0; u < 4; u++) {
        check(pairKey(s, g, u), l1.peekPair(s, `g${g}`, `s${u}`, now));
        check(pairKey(s, g, u), l1.getPair(s, `g${g}`, `s${u}`, now));
      }
}

const seed = Number(process.env.AUTHCACHE_SEED ?? 18_0606);

test("L1 (pair groups of one and of several, owner tags, skipped hits, sweep cursor) never answers a value the model dropped: small L1, evictions", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => run(4, ops)),
    { numRuns: 400, seed },
  );
});

test("L1 never answers a value the model dropped: room for everything (hot entries reach the protected segment and skip recording)", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => run(64, ops)),
    { numRuns: 300, seed: seed + 1 },
  );
});

test("the model check can fail: an L1 whose owner invalidation drops nothing is caught", () => {
  class Deaf extends L1Cache<number> {
    override deleteOwner(): number {
      return 0;
    }
  }
  const ops: Op[] = [
    { op: "setPair", space: 0, group: 1, sub: 2, ttl: 1_000, owners: [3] },
    { op: "deleteOwner", owner: 3 },
    { op: "getPair", space: 0, group: 1, sub: 2, peek: false },
  ];
  expect(() => run(4, ops, (n) => new Deaf({ maxEntries: n }))).toThrow(/L1 answered/);
  expect(() => run(4, ops)).not.toThrow();
});
