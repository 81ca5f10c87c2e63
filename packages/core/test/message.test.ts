import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import {
  decodeMessage,
  encodeMessage,
  type InvalidationMessage,
  REVOCATION_BATCH_BYTES,
  type RevokedToken,
} from "../src/adapter.ts";
import { MAX_IDENTIFIER_LENGTH, MAX_LOG_ENTRY_BYTES } from "../src/index.ts";
import { revocationEntries } from "../src/message.ts";

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** The characters that cost the most once JSON-escaped (6 bytes) or UTF-8 encoded (3 bytes). */
const worst = ["\u0000", "\u001f", "\ud800", "\udfff", "\uffff", '"', "\\"];

describe("log entry size", () => {
  test("every entry naming identifiers of the maximum length, worst case, encodes below the limit and decodes", () => {
    for (const c of worst) {
      const id = c.repeat(MAX_IDENTIFIER_LENGTH);
      const messages: InvalidationMessage[] = [
        { type: "user", email: id },
        { type: "team", email: id },
        { type: "teams", email: id },
        { type: "membership", email: id },
        { type: "role", email: id, teamId: id },
        { type: "teamRoles", teamId: id },
        { type: "revoke", jti: id, expiresAt: Number.MAX_SAFE_INTEGER },
        { type: "revokeMany", revocations: [{ jti: id, expiresAt: -Number.MAX_VALUE }] },
      ];
      for (const m of messages) {
        const raw = encodeMessage(m);
        // A role (two identifiers) is the largest: 12 bytes per code unit at most.
        expect(bytes(raw)).toBeLessThan(MAX_LOG_ENTRY_BYTES / 4);
        expect(decodeMessage(raw)).toEqual(m);
      }
    }
  });

  test("encodeMessage refuses an entry above MAX_LOG_ENTRY_BYTES (the report's 180 000 control characters, a 1 MB e-mail)", () => {
    for (const m of [
      { type: "revoke", jti: "\u0000".repeat(180_000) },
      { type: "user", email: `${"e".repeat(1_048_576)}@x` },
      { type: "role", email: "a@x", teamId: "é".repeat(MAX_LOG_ENTRY_BYTES / 2) },
    ] as InvalidationMessage[]) {
      expect(() => encodeMessage(m)).toThrow(RangeError);
      expect(() => encodeMessage(m)).toThrow(/MAX_LOG_ENTRY_BYTES/);
    }
  });

  test("the limit is in UTF-8 bytes, the same on both sides: exactly at it is applied, one byte over is dropped", () => {
    const shell = encodeMessage({ type: "user", email: "" });
    const room = MAX_LOG_ENTRY_BYTES - bytes(shell);
    // 3-byte characters: the string is a third as long as it is big.
    const email = `${"€".repeat(Math.floor(room / 3))}${"a".repeat(room % 3)}`;
    const atLimit = encodeMessage({ type: "user", email });
    expect(bytes(atLimit)).toBe(MAX_LOG_ENTRY_BYTES);
    expect(atLimit.length).toBeLessThan(MAX_LOG_ENTRY_BYTES / 2);
    expect(decodeMessage(atLimit)).toEqual({ type: "user", email });
    const over = atLimit.replace('"€', '"€a');
    expect(bytes(over)).toBeGreaterThan(MAX_LOG_ENTRY_BYTES);
    expect(decodeMessage(over)).toBeUndefined();
    expect(() => encodeMessage({ type: "user", email: `${email}a` })).toThrow(RangeError);
  });
});

describe("revokeMany", () => {
  test("round-trips; a malformed revocation drops the whole entry", () => {
    const m: InvalidationMessage = {
      type: "revokeMany",
      revocations: [
        { jti: "a", expiresAt: 1 },
        { jti: "", expiresAt: 2.5 },
      ],
    };
    expect(decodeMessage(encodeMessage(m))).toEqual(m);
    for (const bad of [
      '{"v":1,"type":"revokeMany"}',
      '{"v":1,"type":"revokeMany","revocations":{}}',
      '{"v":1,"type":"revokeMany","revocations":[null]}',
      '{"v":1,"type":"revokeMany","revocations":[{"jti":1,"expiresAt":1}]}',
      '{"v":1,"type":"revokeMany","revocations":[{"jti":"a"}]}',
      '{"v":1,"type":"revokeMany","revocations":[{"jti":"a","expiresAt":"1"}]}',
      '{"v":1,"type":"revokeMany","revocations":[{"jti":"a","expiresAt":1},{"jti":"b"}]}',
    ]) {
      expect(decodeMessage(bad)).toBeUndefined();
    }
  });

  test("revocationEntries splits in order, each entry at most REVOCATION_BATCH_BYTES unless it holds one revocation", () => {
    const list: RevokedToken[] = [];
    for (let i = 0; i < 5_000; i++) {
      list.push({ jti: `${i % 7 === 0 ? "\u0000".repeat(300) : "j"}${i}`, expiresAt: 1e15 + i });
    }
    // Two revocations each bigger than a batch on their own.
    list.splice(10, 0, { jti: "\ud800".repeat(MAX_IDENTIFIER_LENGTH), expiresAt: 1 });
    list.push({ jti: "\u0001".repeat(MAX_IDENTIFIER_LENGTH), expiresAt: 2 });
    const entries = revocationEntries(list);
    expect(entries.length).toBeGreaterThan(5);
    const carried: RevokedToken[] = [];
    for (const e of entries) {
      if (e.type !== "revokeMany") throw new Error(`unexpected ${e.type}`);
      const size = bytes(encodeMessage(e));
      if (e.revocations.length > 1) expect(size).toBeLessThanOrEqual(REVOCATION_BATCH_BYTES);
      expect(size).toBeLessThanOrEqual(MAX_LOG_ENTRY_BYTES);
      carried.push(...e.revocations);
    }
    expect(carried).toEqual(list);
    expect(revocationEntries([])).toEqual([]);
  });
});
