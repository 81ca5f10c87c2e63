import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeEnvelope, encodeEnvelope } from "../src/index.ts";

describe("envelope", () => {
  test("round-trips values, generations and the known-absent marker", () => {
    const raw = encodeEnvelope("role", 3, "__NOT_A_MEMBER__", false, 2);
    expect(decodeEnvelope(raw, "role")).toEqual({
      kind: "role",
      g: 3,
      t: 2,
      absent: false,
      value: "__NOT_A_MEMBER__",
    });
    const absent = decodeEnvelope(encodeEnvelope("role", 0, null, true), "role");
    expect(absent?.absent).toBe(true);
    expect(absent?.value).toBeUndefined();
    expect(decodeEnvelope(encodeEnvelope("role", 0, "", false), "role")?.value).toBe("");
  });

  test("anything malformed or of another kind decodes to undefined, never a throw", () => {
    const bad = [
      "",
      "null",
      "[]",
      "{",
      '{"v":2,"k":"user","g":0,"x":{}}',
      '{"v":1,"k":"user","g":-1,"x":{}}',
      '{"v":1,"k":"user","g":0}',
      '{"v":1,"k":"user","g":0,"a":1,"x":1}',
      '{"v":1,"k":"user","g":"0","x":{}}',
      encodeEnvelope("teams", 0, [], false),
    ];
    for (const raw of bad) expect(decodeEnvelope(raw, "user")).toBeUndefined();
    fc.assert(
      fc.property(fc.string(), (s) => {
        decodeEnvelope(s, "ctx");
        return true;
      }),
    );
  });

  test("property: any JSON value round-trips", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (v, g) => {
        const d = decodeEnvelope(encodeEnvelope("user", g, v, false), "user");
        return d !== undefined && JSON.stringify(d.value) === JSON.stringify(v) && d.g === g;
      }),
    );
  });
});
