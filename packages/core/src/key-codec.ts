import { createHash, createHmac } from "node:crypto";

/** How identifiers become key segments. */
export interface KeyCodecOptions {
  /** Prepended to every key. Printable ASCII without `{` or `}` (those are hash-tag syntax). */
  readonly prefix: string;
  /** When set, every identifier is replaced by a keyed HMAC-SHA256, so L2 keys reveal no
   *  e-mail address, team id or jti. Every instance sharing a store must use the same key. */
  readonly hashIdentifiers?: { readonly key: string | Uint8Array } | undefined;
}

/** The owner indexes kept per user (one per kind that has an open-ended key set). */
export type UserOwnerKind = "ctx" | "role" | "mem";

/** Builds every L2 key. Identifiers are always encoded, never interpolated. */
export interface KeyCodec {
  readonly prefix: string;
  /** With `hashIdentifiers`: a fingerprint of the key (a keyed HMAC of a fixed string that no
   *  identifier encodes to), carried by log entries so a follower knows whether it can read
   *  their identifiers. Undefined without the option. */
  readonly keyId: string | undefined;
  /** One identifier as a key segment: injective, and only `[A-Za-z0-9._~%!-]` characters. */
  id(identifier: string): string;
  /** A token's auth context; `jti` undefined is its own key, distinct from every jti. */
  ctx(email: string, jti: string | undefined): string;
  user(email: string): string;
  role(email: string, teamId: string): string;
  teams(email: string, includePersonal: boolean): string;
  /** The user's teams as records (same slot as the user's entries). */
  teamObjects(email: string, includePersonal: boolean): string;
  /** `teamIds` must already be sorted and de-duplicated (core's canonical form). */
  membership(email: string, teamIds: readonly string[]): string;
  /** The user's fence counter (same cluster slot as the user's entries). */
  fence(email: string): string;
  /** The user's owner index of one kind (same slot as the user's entries). */
  userOwner(email: string, kind: UserOwnerKind): string;
  /** Index of the role entries of one team (its own slot). */
  teamOwner(teamId: string): string;
  /** Generation counter of one team's roles (same slot as {@link teamOwner}). */
  teamGeneration(teamId: string): string;
  /** The sorted set of revoked jtis (member = {@link revokedMember}, score = expiry). */
  revoked(): string;
  revokedMember(jti: string): string;
  /** The short-lived "known not revoked" entry of one jti. */
  notRevoked(jti: string): string;
  /** The global generation counter that `invalidateAll` bumps. */
  generation(): string;
}

/** Longer encoded segments are replaced by a digest so keys stay a few hundred bytes. */
const MAX_SEGMENT = 128;
const MAX_LIST = 512;
const HEX = "0123456789ABCDEF";

function pct(byte: number): string {
  return `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
}

/** Per ASCII code unit: "" when it is kept as it is (`[A-Za-z0-9._~-]`), else its `%XX`. */
const ASCII: readonly string[] = Array.from({ length: 128 }, (_, c) =>
  (c >= 48 && c <= 57) ||
  (c >= 65 && c <= 90) ||
  (c >= 97 && c <= 122) ||
  c === 45 ||
  c === 46 ||
  c === 95 ||
  c === 126
    ? ""
    : pct(c),
);

/** `%uXXXX`: a lone surrogate. */
function loneSurrogate(c: number): string {
  return `%u${c.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Percent-encodes every UTF-16 code unit sequence outside `[A-Za-z0-9._~-]`: well-formed code
 * points as their UTF-8 bytes (`%XX`), lone surrogates as `%uXXXX` (UTF-8 cannot carry them and
 * replacing them would make two strings collide). Decodable, hence injective. Runs of kept
 * characters are copied as slices (an e-mail is two runs around `%40`): runs on every L1 miss.
 */
export function percentEncode(s: string): string {
  let out = "";
  // Start of the run of kept characters not copied yet.
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let e: string;
    if (c < 0x80) {
      e = ASCII[c] as string;
      if (e === "") continue;
    } else if (c < 0x800) {
      e = pct(0xc0 | (c >> 6)) + pct(0x80 | (c & 63));
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        e =
          pct(0xf0 | (cp >> 18)) +
          pct(0x80 | ((cp >> 12) & 63)) +
          pct(0x80 | ((cp >> 6) & 63)) +
          pct(0x80 | (cp & 63));
        if (i > from) out += s.slice(from, i);
        out += e;
        i++;
        from = i + 1;
        continue;
      }
      e = loneSurrogate(c);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      e = loneSurrogate(c);
    } else {
      e = pct(0xe0 | (c >> 12)) + pct(0x80 | ((c >> 6) & 63)) + pct(0x80 | (c & 63));
    }
    if (i > from) out += s.slice(from, i);
    out += e;
    from = i + 1;
  }
  if (from === 0) return s;
  return from < s.length ? out + s.slice(from) : out;
}

function digest(s: string): string {
  // `!` never occurs in percent-encoded output, so a digest cannot equal an encoded identifier.
  return `!${createHash("sha256").update(s).digest("base64url")}`;
}

/** Returns the message for an invalid prefix, or undefined when it is acceptable. */
export function checkPrefix(prefix: unknown): string | undefined {
  if (typeof prefix !== "string") return "must be a string";
  if (prefix.length > 256) return "must be at most 256 characters";
  if (!/^[\x21-\x7e]*$/.test(prefix)) return "must be printable ASCII without spaces";
  if (prefix.includes("{") || prefix.includes("}")) return "must not contain { or }";
  return undefined;
}

/** Creates the key builder for one cache (one prefix, optionally hashed identifiers). */
export function createKeyCodec(options: KeyCodecOptions): KeyCodec {
  const problem = checkPrefix(options.prefix);
  if (problem !== undefined) throw new RangeError(`@authcache/core: prefix ${problem}`);
  const p = options.prefix;
  const secret = options.hashIdentifiers?.key;
  const encode =
    secret === undefined
      ? (s: string): string => {
          const e = percentEncode(s);
          return e.length > MAX_SEGMENT ? digest(e) : e;
        }
      : (s: string): string =>
          createHmac("sha256", secret).update(percentEncode(s)).digest("base64url");
  // The last two identifiers encoded, and the last hash tag: one plan asks for the same
  // e-mail's segment three times and its jti's twice, interleaved (entry key, fence, owner
  // index, revoked-set member); encoding one costs ~0.2 µs, an HMAC ~2 µs.
  let lastIn: string | undefined;
  let lastOut = "";
  let prevIn: string | undefined;
  let prevOut = "";
  const id = (s: string): string => {
    if (s === lastIn) return lastOut;
    if (s === prevIn) return prevOut;
    prevIn = lastIn;
    prevOut = lastOut;
    lastOut = encode(s);
    lastIn = s;
    return lastOut;
  };
  let tagIn: string | undefined;
  let tagOut = "";
  const tag = (email: string): string => {
    if (email !== tagIn) {
      tagOut = `{${id(email)}}`;
      tagIn = email;
    }
    return tagOut;
  };
  // Built once: a constant key string keeps its hash (a Map lookup, a store's) across reads.
  const revoked = `${p}revoked`;
  const generation = `${p}gen:all`;
  // `/` never survives percentEncode, so this input is no identifier's.
  const keyId =
    secret === undefined
      ? undefined
      : createHmac("sha256", secret)
          .update("authcache/log-key-id")
          .digest("base64url")
          .slice(0, 22);
  return {
    prefix: p,
    keyId,
    id,
    ctx: (email, jti) => `${p}ctx:${tag(email)}:${jti === undefined ? "-" : `j${id(jti)}`}`,
    user: (email) => `${p}user:${tag(email)}`,
    role: (email, teamId) => `${p}role:${tag(email)}:${id(teamId)}`,
    teams: (email, includePersonal) => `${p}teams:${tag(email)}:${includePersonal ? "p" : "n"}`,
    teamObjects: (email, includePersonal) =>
      `${p}tobj:${tag(email)}:${includePersonal ? "p" : "n"}`,
    membership: (email, teamIds) => {
      // `,` never occurs in an encoded segment, so the join is injective.
      const list = teamIds.map(id).join(",");
      return `${p}mem:${tag(email)}:${list.length > MAX_LIST ? digest(list) : list}`;
    },
    fence: (email) => `${p}gen:${tag(email)}`,
    userOwner: (email, kind) => `${p}own:${tag(email)}:${kind}`,
    teamOwner: (teamId) => `${p}own:{t:${id(teamId)}}`,
    teamGeneration: (teamId) => `${p}gen:{t:${id(teamId)}}`,
    revoked: () => revoked,
    revokedMember: (jti) => id(jti),
    notRevoked: (jti) => `${p}nr:{j:${id(jti)}}`,
    generation: () => generation,
  };
}
