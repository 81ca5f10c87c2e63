import { describe, expect, test } from "bun:test";
import {
  commandCount,
  deadline,
  isLive,
  keySlot,
  planClusterDeleteOwner,
  planDelete,
  planRead,
  planWrite,
  type ReadGroup,
  readResult,
} from "../src/index.ts";

describe("keySlot", () => {
  test("matches the slots Redis documents, hash tags included", () => {
    expect(keySlot("123456789")).toBe(0x31c3 % 16384);
    expect(keySlot("foo")).toBe(12182);
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    expect(keySlot("foo{}{bar}")).not.toBe(keySlot("bar")); // empty tag: the whole key hashes
    expect(keySlot("foo{{bar}}zap")).toBe(keySlot("{bar"));
    expect(keySlot("a:{u:é%40y.com}:1")).toBe(keySlot("b:{u:é%40y.com}"));
  });
});

describe("rules", () => {
  test("deadline rounds up and maps non-finite deadlines", () => {
    expect(deadline(1000.2)).toBe("1001");
    expect(deadline(Number.POSITIVE_INFINITY)).toBe("8640000000000000");
    expect(deadline(Number.NaN)).toBe("0");
  });

  test("isLive takes string and number scores, and a missing member is not live", () => {
    expect(isLive("101", 100)).toBe(true);
    expect(isLive(100, 100)).toBe(false);
    expect(isLive(null, 0)).toBe(false);
  });
});

describe("plans", () => {
  test("a cluster write refuses a fence in another slot, naming both keys", () => {
    expect(() => planWrite("{a}:e", "v", 10, { key: "{b}:f", value: 0 }, [], true)).toThrow(
      /fence \(fence\.key \{b\}:f\).*\(key \{a\}:e\)/,
    );
  });

  test("owners in the entry's slot join the script; the rest are indexed before", () => {
    const plan = planWrite("{a}:e", "v", 10, { key: "{a}:f", value: 3 }, ["{a}:o", "{b}:o"], true);
    expect(plan.write.keys).toEqual(["{a}:e", "{a}:f", "{a}:o"]);
    expect(plan.write.args).toEqual(["v", "10", "3"]);
    expect(plan.before.map((c) => c.keys)).toEqual([["{b}:o"]]);
    expect(planWrite("{a}:e", "v", 10, undefined, ["{b}:o"], false).before).toEqual([]);
  });

  test("a read is one group standalone and one per slot in a cluster, reassembled in order", () => {
    const keys = ["{a}:1", "{b}:1", "{a}:2"];
    const members = [{ set: "{b}:r", member: "m" }];
    expect(planRead(keys, members, false)).toHaveLength(1);
    const groups = planRead(keys, members, true);
    expect(groups).toHaveLength(2);
    const replies = groups.map((g) => [
      ...(g.keys.length > 0 ? [g.keys.map((k) => `v${k}`)] : []),
      ...g.members.map(() => "200"),
    ]);
    expect(replies.map((r, g) => r.length - commandCount(groups[g] as ReadGroup))).toEqual([0, 0]);
    expect(readResult(3, 1, groups, replies, 100)).toEqual({
      values: ["v{a}:1", "v{b}:1", "v{a}:2"],
      members: [true],
    });
  });

  test("cluster deleteOwner deletes other slots first and unindexes everything read", () => {
    const plan = planClusterDeleteOwner("{a}:idx", ["{a}:1", "{b}:1", "{c}:1", "{a}:2"]);
    expect(plan.elsewhere).toEqual([["{b}:1"], ["{c}:1"]]);
    expect(plan.last.keys).toEqual(["{a}:idx", "{a}:1", "{a}:2"]);
    expect(plan.last.args).toHaveLength(4);
    expect(
      planDelete(
        Array.from({ length: 2500 }, (_, i) => `k${i}`),
        false,
      ),
    ).toHaveLength(3);
  });
});
