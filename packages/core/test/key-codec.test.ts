import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createKeyCodec, percentEncode } from "../src/key-codec.ts";

const nasty = [
  "",
  "a*@x.com",
  "?@x",
  "[a]@x",
  "a:b@x",
  "{t}@x",
  "}{",
  "\\",
  "é@ü.de",
  "😀",
  "\ud800",
  "\udc00x",
  "x".repeat(10_000),
  "%41",
  "A",
  "!",
  "a,b",
];

const printableNoTagChars = /^[\x21-\x7e]*$/;

describe("key codec", () => {
  const codec = createKeyCodec({ prefix: "t:" });
  const hashed = createKeyCodec({ prefix: "t:", hashIdentifiers: { key: "secret" } });

  test("segments contain no braces, colons, commas or non-printable characters", () => {
    for (const c of [codec, hashed]) {
      for (const s of nasty) {
        const seg = c.id(s);
        expect(seg).toMatch(/^[A-Za-z0-9._~%!-]*$/);
        expect(seg.length).toBeLessThanOrEqual(200);
      }
    }
  });

  test("keys of one user share one hash tag, and carry only printable ASCII", () => {
    for (const c of [codec, hashed]) {
      for (const email of nasty) {
        const keys = [
          c.ctx(email, "j"),
          c.ctx(email, undefined),
          c.user(email),
          c.role(email, "t"),
          c.teams(email, true),
          c.membership(email, ["a", "b"]),
          c.fence(email),
          c.userOwner(email, "ctx"),
        ];
        const tags = new Set(keys.map((k) => k.slice(k.indexOf("{"), k.indexOf("}") + 1)));
        expect(tags.size).toBe(1);
        for (const k of keys) expect(k).toMatch(printableNoTagChars);
        for (const k of keys) expect(k.length).toBeLessThan(700);
      }
    }
  });

  test("hashed identifiers do not reveal the e-mail address", () => {
    expect(hashed.user("alice@example.com")).not.toContain("alice");
    expect(hashed.user("alice@example.com")).not.toBe(
      createKeyCodec({ prefix: "t:", hashIdentifiers: { key: "other" } }).user("alice@example.com"),
    );
  });

  test("a missing jti is distinct from every jti, including the empty one", () => {
    expect(codec.ctx("a", undefined)).not.toBe(codec.ctx("a", ""));
    expect(codec.ctx("a", undefined)).not.toBe(codec.ctx("a", "-"));
  });

  test("a prefix with braces or spaces is a RangeError", () => {
    expect(() => createKeyCodec({ prefix: "a{b" })).toThrow(RangeError);
    expect(() => createKeyCodec({ prefix: "a b" })).toThrow(/prefix/);
  });

  test("percentEncode decodes back (well-formed strings) so it is injective", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        return decodeURIComponent(percentEncode(s)) === s;
      }),
    );
  });

  test("percentEncode of an e-mail-like string is its UTF-8 percent-encoding (`@` is %40)", () => {
    expect(percentEncode("alice@x.com")).toBe("alice%40x.com");
    expect(percentEncode("@a@")).toBe("%40a%40");
    const unit = fc.constantFrom("@", "a", "Z", "0", ".", "_", "~", "-", "!", " ", "é");
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 16 }), (s) => {
        // encodeURIComponent leaves !'()* alone; percentEncode encodes them: patch those.
        const expected = encodeURIComponent(s).replace(
          /[!'()*]/g,
          (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
        );
        return percentEncode(s) === expected;
      }),
    );
  });

  const anyString = fc.oneof(
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.constantFrom(...nasty),
    fc.string({ unit: fc.constantFrom(":", "{", "}", "*", "%", "a", ",", "!", "-"), maxLength: 8 }),
  );
  const tuple = fc.oneof(
    fc.tuple(fc.constant("ctx"), anyString, fc.option(anyString, { nil: undefined })),
    fc.tuple(fc.constant("user"), anyString),
    fc.tuple(fc.constant("role"), anyString, anyString),
    fc.tuple(fc.constant("teams"), anyString, fc.boolean()),
    fc.tuple(
      fc.constant("mem"),
      anyString,
      fc.uniqueArray(anyString, { minLength: 1, maxLength: 4 }).map((a) => [...a].sort()),
    ),
    fc.tuple(fc.constant("fence"), anyString),
    fc.tuple(fc.constant("teamOwner"), anyString),
    fc.tuple(fc.constant("teamGen"), anyString),
    fc.tuple(fc.constant("nr"), anyString),
    fc.tuple(fc.constant("own"), anyString, fc.constantFrom("ctx", "role", "mem")),
  );
  // biome-ignore lint/suspicious/noExplicitAny: the tuple shape is chosen by its first element
  const keyOf = (c: ReturnType<typeof createKeyCodec>, t: any[]): string => {
    switch (t[0]) {
      case "ctx":
        return c.ctx(t[1], t[2]);
      case "user":
        return c.user(t[1]);
      case "role":
        return c.role(t[1], t[2]);
      case "teams":
        return c.teams(t[1], t[2]);
      case "mem":
        return c.membership(t[1], t[2]);
      case "fence":
        return c.fence(t[1]);
      case "teamOwner":
        return c.teamOwner(t[1]);
      case "teamGen":
        return c.teamGeneration(t[1]);
      case "nr":
        return c.notRevoked(t[1]);
      default:
        return c.userOwner(t[1], t[2]);
    }
  };

  test("property: no two distinct identifier tuples map to one key", () => {
    for (const c of [codec, hashed]) {
      fc.assert(
        fc.property(tuple, tuple, (a, b) => {
          const same = JSON.stringify(a) === JSON.stringify(b);
          return same === (keyOf(c, a) === keyOf(c, b));
        }),
        { numRuns: 3_000 },
      );
      // Also against the fixed keys nobody owns.
      fc.assert(
        fc.property(tuple, (a) => {
          const k = keyOf(c, a);
          return k !== c.revoked() && k !== c.generation();
        }),
      );
    }
  });
});
