import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { MAX_VALUE_DEPTH, nestedWithin } from "./values.ts";

/** The tag of a kind of entry (the envelope's `k`: "ctx", "user", "role", "teams", "mem", "nr",
 *  ...; each kind declares its own, see kinds.ts). */
export type EntryKind = string;

/** The stored format's version. Entries of any other version (v1 carried no identity) are
 *  misses, counted in `decodeErrors`, and the next fill replaces them. */
export const ENVELOPE_VERSION = 2;

/** A decoded L2 entry. */
export interface Envelope {
  readonly kind: EntryKind;
  /** The global generation (`gen:all`) read before the value was loaded. */
  readonly g: number;
  /** The team generation read before a role was loaded (roles only). */
  readonly t: number | undefined;
  /** True for an explicit "known absent" entry (a role that is "not a member"). */
  readonly absent: boolean;
  /** The value (a fresh object from JSON.parse, owned by the caller), undefined when `absent`. */
  readonly value: unknown;
}

/**
 * Encodes and decodes the entries of one cache. Every entry names what it is for: its kind
 * and the identity of the L2 key it was written under (`i`, a hash of the key), so an entry
 * copied or moved to another key is a miss. With a secret, every entry also carries an
 * authenticator (`m`, HMAC-SHA256 over the key and the rest of the entry), so nobody without
 * the secret can forge, alter or move one.
 */
export interface EnvelopeCodec {
  /** True when entries carry (and must carry) an authenticator. */
  readonly authenticated: boolean;
  /** The stored string for `value` under `key`. Throws only if `value` is not
   *  JSON-serialisable (callers pass values they copied and checked). */
  encode(
    key: string,
    kind: EntryKind,
    g: number,
    value: unknown,
    absent: boolean,
    t?: number,
  ): string;
  /** The entry, or undefined (never a throw) for anything that is not an entry of this
   *  version, of `kind`, written for `key` (and authentic, with a secret), whose value is
   *  nested at most {@link MAX_VALUE_DEPTH} + 1 deep (a context holds a user one level down). */
  decode(raw: string, key: string, kind: EntryKind): Envelope | undefined;
  /** {@link decode} without the nesting bound: for a caller whose acceptance of the value
   *  bounds every walk over it (core's kinds: `adoptUser` checks the depth in the walk that
   *  freezes, the other kinds take scalars or a flat list), so the value is walked once. */
  open(raw: string, key: string, kind: EntryKind): Envelope | undefined;
}

/** `{"m":"` + 22 characters of base64url (128 bits) + `",`. */
const MAC_CHARS = 22;
const MAC_HEAD = '{"m":"';
const MAC_END = MAC_HEAD.length + MAC_CHARS;
const MAC_LABEL = "authcache/envelope-mac/v2";

/**
 * A 53-bit hash of the key (two 32-bit multiply-xorshift lanes over its characters, folded
 * into a safe integer). It says which key an entry was written for, so an entry copied or
 * moved to another key is refused. It is neither secret nor collision-resistant against an
 * adversary (anyone who can write to L2 can compute it, as they could any public digest):
 * only the authenticator makes the claim unforgeable. Not SHA-256, and a number rather than
 * text, because it runs on every L2 read and fill: measured on the L1-miss path, a
 * `createHash` or a hex string costs about a microsecond more, this loop ~0.1 µs.
 */
export function entryIdentity(key: string): number {
  let h1 = 0xdeadbeef ^ key.length;
  let h2 = 0x41c6ce57 ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Compares two strings of equal length without an early exit. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The codec of a cache; `secret` (the `hashIdentifiers` key) turns authentication on. The
 *  authenticator's key is derived from it, so it is never used for two purposes. */
export function createEnvelopeCodec(secret?: string | Uint8Array): EnvelopeCodec {
  const macKey: KeyObject | undefined =
    secret === undefined
      ? undefined
      : createSecretKey(createHmac("sha256", secret).update(MAC_LABEL).digest());
  const mac = (key: KeyObject, l2Key: string, body: string): string =>
    createHmac("sha256", key).update(`${l2Key}\n${body}`).digest("base64url").slice(0, MAC_CHARS);

  const body = (
    key: string,
    kind: EntryKind,
    g: number,
    value: unknown,
    absent: boolean,
    t: number | undefined,
  ): string => {
    const head = `{"v":${ENVELOPE_VERSION},"k":"${kind}","i":${entryIdentity(key)},"g":${g}${t === undefined ? "" : `,"t":${t}`}`;
    return absent ? `${head},"a":1}` : `${head},"x":${JSON.stringify(value)}}`;
  };

  /** `bound`: the key is already bound by a verified authenticator (no identity check).
   *  `nested`: the value's nesting is checked here (else by the caller, see `open`). */
  const parse = (
    json: string,
    key: string,
    kind: EntryKind,
    bound: boolean,
    nested: boolean,
  ): Envelope | undefined => {
    let o: unknown;
    try {
      o = JSON.parse(json);
    } catch {
      return undefined;
    }
    if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
    const e = o as Record<string, unknown>;
    if (e.v !== ENVELOPE_VERSION || e.k !== kind) return undefined;
    if (typeof e.i !== "number" || (!bound && e.i !== entryIdentity(key))) return undefined;
    if (typeof e.g !== "number" || !Number.isSafeInteger(e.g) || e.g < 0) return undefined;
    if (e.t !== undefined && (typeof e.t !== "number" || !Number.isSafeInteger(e.t) || e.t < 0)) {
      return undefined;
    }
    const absent = e.a === 1;
    if (!absent && !("x" in e)) return undefined;
    if (absent && "x" in e) return undefined;
    if (nested && !absent && !nestedWithin(e.x, MAX_VALUE_DEPTH + 1)) return undefined;
    return { kind, g: e.g, t: e.t as number | undefined, absent, value: absent ? undefined : e.x };
  };

  if (macKey === undefined) {
    return {
      authenticated: false,
      encode: (key, kind, g, value, absent, t) => body(key, kind, g, value, absent, t),
      decode: (raw, key, kind) =>
        typeof raw === "string" ? parse(raw, key, kind, false, true) : undefined,
      open: (raw, key, kind) =>
        typeof raw === "string" ? parse(raw, key, kind, false, false) : undefined,
    };
  }
  const verified = (raw: string, key: string): string | undefined => {
    if (typeof raw !== "string" || !raw.startsWith(MAC_HEAD) || raw.length < MAC_END + 3) {
      return undefined;
    }
    if (raw.charCodeAt(MAC_END) !== 34 || raw.charCodeAt(MAC_END + 1) !== 44) return undefined;
    const b = `{${raw.slice(MAC_END + 2)}`;
    if (!sameText(raw.slice(MAC_HEAD.length, MAC_END), mac(macKey, key, b))) return undefined;
    return b;
  };
  return {
    authenticated: true,
    encode(key, kind, g, value, absent, t) {
      const b = body(key, kind, g, value, absent, t);
      return `${MAC_HEAD}${mac(macKey, key, b)}",${b.slice(1)}`;
    },
    decode(raw, key, kind) {
      const b = verified(raw, key);
      return b === undefined ? undefined : parse(b, key, kind, true, true);
    },
    open(raw, key, kind) {
      const b = verified(raw, key);
      return b === undefined ? undefined : parse(b, key, kind, true, false);
    },
  };
}

const plain = createEnvelopeCodec();

/** {@link EnvelopeCodec.encode} without an authenticator:
 *  `{"v":2,"k":kind,"i":identity,"g":g,"x":value}` (identity: {@link entryIdentity} of the
 *  key), or `"a":1` instead of `x` for a known-absent entry (and `"t":t` after `g` for a role). */
export function encodeEnvelope(
  key: string,
  kind: EntryKind,
  g: number,
  value: unknown,
  absent: boolean,
  t?: number,
): string {
  return plain.encode(key, kind, g, value, absent, t);
}

/** {@link EnvelopeCodec.decode} without an authenticator. */
export function decodeEnvelope(raw: string, key: string, kind: EntryKind): Envelope | undefined {
  return plain.decode(raw, key, kind);
}
