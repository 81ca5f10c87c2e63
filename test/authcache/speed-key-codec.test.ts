// Attack on the issue-18 key codec changes (a0e0c0e, helper F): percentEncode copying runs as
// slices, and the codec remembering the last two identifiers and the last hash tag. Whatever
// the order of calls, a codec's key equals a fresh codec's for the same identifier (no memo
// answers another identifier's encoding: identifiers equal after Unicode normalization, lone
// surrogates, ones past the digest length, two codecs with and without hashIdentifiers or with
// different secrets used in turn in one process), and percentEncode equals a reference encoder
// written from its specification.
import { expect, test } from "bun:test";
import { createKeyCodec, type KeyCodec } from "@authcache/core/adapter";
import fc from "fast-check";
import { percentEncode } from "../../packages/core/src/key-codec.ts";

/** The specification: `[A-Za-z0-9._~-]` kept, well-formed code points as their UTF-8 bytes
 *  (`%XX`, upper case), lone surrogates as `%uXXXX`. */
function reference(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (/^[A-Za-z0-9._~-]$/.test(ch)) out += ch;
    else if (c >= 0xd800 && c <= 0xdfff)
      out += `%u${c.toString(16).toUpperCase().padStart(4, "0")}`;
    else
      for (const b of new TextEncoder().encode(ch))
        out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

const seed = Number(process.env.AUTHCACHE_SEED ?? 18_0707);

// Identifiers that stress the encoder and the memo: near-equal strings (NFC/NFD, case, one
// code unit apart), lone surrogates, runs of kept characters, and lengths past the digest.
const tricky = fc.constantFrom(
  "a@example.com",
  "A@example.com",
  "\u00e9@example.com", // NFC é
  "e\u0301@example.com", // NFD é
  "\ud800@x",
  "\udc00@x",
  "\ud83d\ude00@x",
  "x".repeat(128),
  "x".repeat(129),
  "%40",
  "@",
  "",
);
const identifier = fc.oneof(
  tricky,
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ maxLength: 200 }),
);

test("percentEncode equals the reference encoder for any string (UTF-16 units, graphemes, lone surrogates)", () => {
  fc.assert(
    fc.property(fc.oneof(identifier, fc.string({ unit: "binary-ascii", maxLength: 60 })), (s) => {
      expect(percentEncode(s)).toBe(reference(s));
    }),
    { numRuns: 3_000, seed },
  );
});

type Call = {
  codec: number;
  fn: "id" | "ctx" | "role" | "notRevoked" | "membership";
  a: string;
  b: string;
};

const codecs = (): KeyCodec[] => [
  createKeyCodec({ prefix: "p:" }),
  createKeyCodec({ prefix: "p:", hashIdentifiers: { key: "secret-one-0123456789" } }),
  createKeyCodec({ prefix: "p:", hashIdentifiers: { key: "secret-two-0123456789" } }),
  createKeyCodec({ prefix: "q:" }),
];

function apply(c: KeyCodec, call: Call): string {
  switch (call.fn) {
    case "id":
      return c.id(call.a);
    case "ctx":
      return c.ctx(call.a, call.b === "" ? undefined : call.b);
    case "role":
      return c.role(call.a, call.b);
    case "notRevoked":
      return c.notRevoked(call.a);
    case "membership":
      return c.membership(call.a, [call.b, `${call.b}z`].sort());
  }
}

test("a codec's memo never answers another identifier's encoding: any interleaving, four codecs in one process, equals a fresh codec per call", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          codec: fc.integer({ min: 0, max: 3 }),
          fn: fc.constantFrom("id", "ctx", "role", "notRevoked", "membership"),
          a: identifier,
          b: identifier,
        }) as fc.Arbitrary<Call>,
        { maxLength: 40 },
      ),
      (calls) => {
        const shared = codecs();
        for (const call of calls) {
          const fresh = codecs()[call.codec] as KeyCodec;
          expect(apply(shared[call.codec] as KeyCodec, call)).toBe(apply(fresh, call));
        }
      },
    ),
    { numRuns: 300, seed: seed + 1 },
  );
});

test("identifiers equal only after normalization or case folding keep distinct keys (one codec, alternating)", () => {
  const c = createKeyCodec({ prefix: "p:" });
  const nfc = "\u00e9@example.com";
  const nfd = "e\u0301@example.com";
  const keys = new Set<string>();
  for (let i = 0; i < 4; i++) {
    keys.add(c.ctx(nfc, "j"));
    keys.add(c.ctx(nfd, "j"));
    keys.add(c.ctx("A@example.com", "j"));
    keys.add(c.ctx("a@example.com", "j"));
  }
  expect(keys.size).toBe(4);
});
