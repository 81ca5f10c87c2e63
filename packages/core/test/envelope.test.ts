import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  createEnvelopeCodec,
  createKeyCodec,
  decodeEnvelope,
  ENVELOPE_VERSION,
  encodeEnvelope,
  entryIdentity,
} from "../src/adapter.ts";
import { createAuthCache, MAX_VALUE_DEPTH, silentLogger } from "../src/index.ts";
import { MapStore } from "./support/map-store.ts";

const KEY = "authcache:user:{a%40x}";
const OTHER = "authcache:user:{b%40x}";

/** `depth` nested arrays as JSON text (never built as an object). */
const deepArrays = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);
/** An object nested `depth` levels deep. */
function deepObject(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let at = root;
  for (let i = 1; i < depth; i++) {
    const next: Record<string, unknown> = {};
    at.a = next;
    at = next;
  }
  return root;
}

describe("envelope", () => {
  test("round-trips values, generations and the known-absent marker", () => {
    const raw = encodeEnvelope(KEY, "role", 3, "__NOT_A_MEMBER__", false, 2);
    expect(decodeEnvelope(raw, KEY, "role")).toEqual({
      kind: "role",
      g: 3,
      t: 2,
      absent: false,
      value: "__NOT_A_MEMBER__",
    });
    const absent = decodeEnvelope(encodeEnvelope(KEY, "role", 0, null, true), KEY, "role");
    expect(absent?.absent).toBe(true);
    expect(absent?.value).toBeUndefined();
    expect(decodeEnvelope(encodeEnvelope(KEY, "role", 0, "", false), KEY, "role")?.value).toBe("");
  });

  test("the envelope names its version, kind and key identity", () => {
    const o = JSON.parse(encodeEnvelope(KEY, "user", 0, { a: 1 }, false));
    expect(o.v).toBe(ENVELOPE_VERSION);
    expect(ENVELOPE_VERSION).toBe(2);
    expect(o.k).toBe("user");
    expect(Number.isSafeInteger(o.i)).toBe(true);
    expect(o.i).toBe(entryIdentity(KEY));
    expect(JSON.parse(encodeEnvelope(OTHER, "user", 0, { a: 1 }, false)).i).not.toBe(o.i);
  });

  test("anything malformed, of another kind, version or key decodes to undefined, never a throw", () => {
    const good = encodeEnvelope(KEY, "user", 0, {}, false);
    const i = JSON.parse(good).i as number;
    const bad = [
      "",
      "null",
      "[]",
      "{",
      '{"v":1,"k":"user","g":0,"x":{}}',
      `{"v":3,"k":"user","i":${i},"g":0,"x":{}}`,
      `{"v":2,"k":"user","g":0,"x":{}}`,
      `{"v":2,"k":"user","i":${i + 1},"g":0,"x":{}}`,
      `{"v":2,"k":"user","i":"${i}","g":0,"x":{}}`,
      `{"v":2,"k":"user","i":${i},"g":-1,"x":{}}`,
      `{"v":2,"k":"user","i":${i},"g":0}`,
      `{"v":2,"k":"user","i":${i},"g":0,"a":1,"x":1}`,
      `{"v":2,"k":"user","i":${i},"g":"0","x":{}}`,
      `{"v":2,"k":"user","i":${i},"g":0,"t":-1,"x":{}}`,
      encodeEnvelope(KEY, "teams", 0, [], false),
      encodeEnvelope(OTHER, "user", 0, {}, false),
    ];
    expect(decodeEnvelope(good, KEY, "user")).toBeDefined();
    for (const raw of bad) expect(decodeEnvelope(raw, KEY, "user")).toBeUndefined();
    fc.assert(
      fc.property(fc.string(), (s) => {
        decodeEnvelope(s, KEY, "ctx");
        return true;
      }),
    );
  });

  test("property: any JSON value round-trips under its key, and only there", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.nat(), fc.string(), (v, g, k) => {
        const raw = encodeEnvelope(`p:${k}`, "user", g, v, false);
        const d = decodeEnvelope(raw, `p:${k}`, "user");
        return (
          d !== undefined &&
          JSON.stringify(d.value) === JSON.stringify(v) &&
          d.g === g &&
          decodeEnvelope(raw, `q:${k}`, "user") === undefined
        );
      }),
    );
  });

  test("a value nested past MAX_VALUE_DEPTH + 1 decodes to undefined, whatever its depth", () => {
    const i = JSON.parse(encodeEnvelope(KEY, "user", 0, {}, false)).i as number;
    const entry = (json: string) => `{"v":2,"k":"user","i":${i},"g":0,"x":${json}}`;
    expect(decodeEnvelope(entry(deepArrays(MAX_VALUE_DEPTH + 1)), KEY, "user")).toBeDefined();
    for (const depth of [MAX_VALUE_DEPTH + 2, 10_000, 1_000_000]) {
      expect(decodeEnvelope(entry(deepArrays(depth)), KEY, "user")).toBeUndefined();
    }
    // The limit counts objects and arrays alike, and only nesting (not width).
    const wide = JSON.stringify(Array.from({ length: 10_000 }, (_, n) => ({ n, a: [n] })));
    expect(decodeEnvelope(entry(wide), KEY, "user")).toBeDefined();
    expect(
      decodeEnvelope(entry(JSON.stringify(deepObject(MAX_VALUE_DEPTH))), KEY, "user"),
    ).toBeDefined();
  });
});

describe("authenticated envelopes (hashIdentifiers secret)", () => {
  const codec = createEnvelopeCodec("a secret");
  const other = createEnvelopeCodec("another secret");
  const value = { email: "a@x", isAdmin: false };

  test("round-trip; the authenticator leads the entry; plain decoders still read the JSON", () => {
    const raw = codec.encode(KEY, "user", 4, value, false);
    expect(codec.authenticated).toBe(true);
    expect(raw).toMatch(/^\{"m":"[A-Za-z0-9_-]{22}","v":2,"k":"user","i":\d+,"g":4,/);
    expect(codec.decode(raw, KEY, "user")).toEqual({
      kind: "user",
      g: 4,
      t: undefined,
      absent: false,
      value,
    });
    expect(JSON.parse(raw).x).toEqual(value);
  });

  test("moved, altered, stripped, re-signed with another secret or unsigned: undefined", () => {
    const raw = codec.encode(KEY, "user", 4, value, false);
    const cases = [
      raw.replace('"isAdmin":false', '"isAdmin":true'),
      raw.replace('"g":4', '"g":5'),
      raw.replace(/"m":"[^"]*",/, ""),
      encodeEnvelope(KEY, "user", 4, value, false),
      other.encode(KEY, "user", 4, value, false),
      `${raw.slice(0, 6)}${"A".repeat(22)}${raw.slice(28)}`,
      raw.slice(0, 30),
    ];
    expect(codec.decode(raw, OTHER, "user")).toBeUndefined();
    expect(codec.decode(raw, KEY, "ctx")).toBeUndefined();
    for (const c of cases) expect(codec.decode(c, KEY, "user")).toBeUndefined();
    // The read path's `open` (no nesting bound: the kind's accept has it) refuses the same.
    expect(codec.open(raw, OTHER, "user")).toBeUndefined();
    expect(codec.open(raw, KEY, "ctx")).toBeUndefined();
    for (const c of cases) expect(codec.open(c, KEY, "user")).toBeUndefined();
    expect(codec.open(raw, KEY, "user")).toEqual(codec.decode(raw, KEY, "user"));
  });

  test("open refuses what decode refuses, but the nesting bound (plain and authenticated)", () => {
    const plain = createEnvelopeCodec();
    const deepJson = `${"[".repeat(MAX_VALUE_DEPTH + 2)}${"]".repeat(MAX_VALUE_DEPTH + 2)}`;
    for (const c of [plain, codec]) {
      const raw = c.encode(KEY, "user", 1, value, false);
      const variants = [
        raw,
        raw.replace('"v":2', '"v":1'),
        raw.replace('"g":1', '"g":-1'),
        raw.replace('"k":"user"', '"k":"ctx"'),
        c.encode(OTHER, "user", 1, value, false),
        c.encode(KEY, "user", 1, null, true),
        "not json",
      ];
      for (const v of variants) {
        expect(c.open(v, KEY, "user")).toEqual(c.decode(v, KEY, "user"));
      }
      const deep = c.encode(KEY, "user", 1, JSON.parse(deepJson), false);
      expect(c.decode(deep, KEY, "user")).toBeUndefined();
      expect(c.open(deep, KEY, "user")?.g).toBe(1);
    }
  });

  test("property: no single-character change of an entry decodes", () => {
    const raw = codec.encode(KEY, "role", 1, "owner", false, 2);
    fc.assert(
      fc.property(fc.nat(raw.length - 1), fc.integer({ min: 32, max: 126 }), (at, code) => {
        const changed = raw.slice(0, at) + String.fromCharCode(code) + raw.slice(at + 1);
        fc.pre(changed !== raw);
        return codec.decode(changed, KEY, "role") === undefined;
      }),
    );
  });
});

describe("generations in entries read through a cache", () => {
  test("an entry newer than the counters read with it (g or a role's t) is a counted miss", async () => {
    const store = new MapStore();
    const cache = createAuthCache({ store, logger: silentLogger });
    const codec = createKeyCodec({ prefix: "authcache:" });
    const role = codec.role("a@x", "t1");
    const far = Date.now() + 60_000;
    // The counters read 0: g = 0 and t = 0 are current, anything above was never filled.
    await store.set(role, encodeEnvelope(role, "role", 0, "owner", false, 0), far);
    expect(await cache.getUserRole("a@x", "t1")).toBe("owner");
    const other = codec.role("a@x", "t2");
    await store.set(other, encodeEnvelope(other, "role", 0, "owner", false, 5), far);
    expect(await cache.getUserRole("a@x", "t2")).toBeUndefined();
    const user = codec.user("a@x");
    await store.set(user, encodeEnvelope(user, "user", 7, { email: "a@x" }, false), far);
    expect(await cache.getUser("a@x")).toBeUndefined();
    expect(cache.stats().decodeErrors).toBe(2);
    // After invalidateTeamRoles (t2's generation 1) and invalidateAll (gen:all 1), still refused.
    await cache.invalidateTeamRoles("t2");
    await cache.invalidateAll();
    await store.set(other, encodeEnvelope(other, "role", 1, "owner", false, 5), far);
    await store.set(user, encodeEnvelope(user, "user", 7, { email: "a@x" }, false), far);
    expect(await cache.getUserRole("a@x", "t2")).toBeUndefined();
    expect(await cache.getUser("a@x")).toBeUndefined();
    expect(cache.stats().decodeErrors).toBe(4);
    await cache.close();
  });
});
