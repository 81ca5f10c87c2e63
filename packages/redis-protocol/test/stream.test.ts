import { describe, expect, test } from "bun:test";
import {
  blockMsProblem,
  defaultBlockMs,
  keySlot,
  logKeys,
  logName,
  parseEnd,
  parseEntries,
  parseRead,
} from "../src/index.ts";

describe("the invalidation log's layout", () => {
  test("the default name follows the prefix; the two keys share one slot", () => {
    expect(logName({}, "x")).toBe("authcache:log");
    expect(logName({ prefix: "app1:" }, "x")).toBe("app1:log");
    expect(logName({ prefix: "app1:", stream: "shared" }, "x")).toBe("shared");
    for (const name of ["authcache:log", "app1:log", "a:b:c", "x"]) {
      const keys = logKeys(name);
      expect(keys.entries).toBe(`{${name}}:entries`);
      expect(keySlot(keys.entries)).toBe(keySlot(keys.meta));
    }
    expect(keySlot(logKeys("app1:log").entries)).not.toBe(keySlot(logKeys("app2:log").entries));
  });

  test("a name that cannot be a hash tag is a RangeError naming the option", () => {
    expect(() => logName({ stream: "a{b}" }, "pkg")).toThrow(/pkg: stream/);
    expect(() => logName({ prefix: "has space:" }, "pkg")).toThrow(/pkg: prefix/);
    expect(() => logName({ stream: "" }, "pkg")).toThrow(RangeError);
  });

  test("blockMs: a third of the confirm interval by default, at most half", () => {
    expect(defaultBlockMs(250)).toBe(83);
    expect(defaultBlockMs(2)).toBe(1);
    expect(blockMsProblem(125, 250)).toBeUndefined();
    expect(blockMsProblem(126, 250)).toContain("half");
    expect(blockMsProblem(0, 250)).toContain("positive");
  });

  test("replies of either client parse to the same entries", () => {
    const fields = ["m", "msg", "e", "ep", "s", "7"];
    const ioredis = [["{n}:entries", [["1-0", fields]]]];
    const resp3 = { "{n}:entries": [["1-0", fields]] };
    const glide = [
      {
        key: "{n}:entries",
        value: {
          "1-0": [
            ["m", "msg"],
            ["e", "ep"],
            ["s", "7"],
          ],
        },
      },
    ];
    const glideBatch = [
      {
        key: "{n}:entries",
        value: [
          {
            key: "1-0",
            value: [
              ["m", "msg"],
              ["e", "ep"],
              ["s", "7"],
            ],
          },
        ],
      },
    ];
    const expected = [{ seq: 7, epoch: "ep", cursor: "1-0", data: "msg" }];
    for (const reply of [ioredis, resp3, glide, glideBatch])
      expect(parseEntries(reply)).toEqual(expected);
    expect(parseEntries(null)).toEqual([]);
    // An entry appended without the script has no sequence number: the follower drops it.
    expect(parseEntries([["k", [["2-0", ["m", "x"]]]]])[0]?.seq).toBeUndefined();
  });

  test("a read and an end parse epoch, head and position", () => {
    expect(parseRead(["ep", "12"], null)).toEqual({ epoch: "ep", head: 12, entries: [] });
    expect(parseRead([null, null], null)).toEqual({ epoch: undefined, head: 0, entries: [] });
    expect(parseEnd(["ep", 3, "5-1"])).toEqual({ epoch: "ep", seq: 3, cursor: "5-1" });
    expect(() => parseEnd("nope")).toThrow("unexpected reply");
  });
});
