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

  test("percentEncode gives what the code-unit-by-code-unit encoder gave (stored keys do not move)", () => {
    // The encoder before runs were copied as slices (issue 18), kept as the reference.
    const hex = (b: number) => `%${"0123456789ABCDEF"[b >> 4]}${"0123456789ABCDEF"[b & 15]}`;
    const lone = (c: number) => `%u${c.toString(16).toUpperCase().padStart(4, "0")}`;
    const reference = (s: string): string => {
      let out = "";
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (/[A-Za-z0-9._~-]/.test(s[i] as string)) out += s[i];
        else if (c < 0x80) out += hex(c);
        else if (c < 0x800) out += hex(0xc0 | (c >> 6)) + hex(0x80 | (c & 63));
        else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            out +=
              hex(0xf0 | (cp >> 18)) +
              hex(0x80 | ((cp >> 12) & 63)) +
              hex(0x80 | ((cp >> 6) & 63)) +
              hex(0x80 | (cp & 63));
            i++;
          } else out += lone(c);
        } else if (c >= 0xd800 && c <= 0xdfff) out += lone(c);
        else out += hex(0xe0 | (c >> 12)) + hex(0x80 | ((c >> 6) & 63)) + hex(0x80 | (c & 63));
      }
      return out;
    };
    for (const s of nasty) expect(percentEncode(s)).toBe(reference(s));
    const unit = fc.oneof(
      fc.constantFrom("a", "@", "-", "~", "%", "é", "中", "😀", "\ud800", "\udc00", "\udbff"),
      fc.string({ unit: "binary", maxLength: 1 }),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 12 }), (s) => percentEncode(s) === reference(s)),
      { numRuns: 2_000 },
    );
  });

  test("interleaved identifiers (an e-mail, a jti) encode the same as each alone", () => {
    for (const options of [{ prefix: "t:" }, { prefix: "t:", hashIdentifiers: { key: "k" } }]) {
      const c = createKeyCodec(options);
      const fresh = () => createKeyCodec(options);
      const seq: [string, string][] = [
        ["a@x", "j1"],
        ["b@x", "j1"],
        ["a@x", "j2"],
        ["a@x", "a@x"],
        ["j1", "b@x"],
      ];
      for (const [email, jti] of seq) {
        expect(c.ctx(email, jti)).toBe(fresh().ctx(email, jti));
        expect(c.fence(email)).toBe(fresh().fence(email));
        expect(c.revokedMember(jti)).toBe(fresh().revokedMember(jti));
        expect(c.userOwner(email, "ctx")).toBe(fresh().userOwner(email, "ctx"));
        expect(c.id(jti)).toBe(fresh().id(jti));
      }
    }
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
