/**
 * Remembers tokens whose signature and claims were verified, by a SHA-256 digest of the token
 * string, as Envoy's JWT cache does: a remembered token skips the signature check until it
 * expires. Bounded (oldest first out), each entry kept until the token's `exp` or `maxAgeSeconds`
 * after its verification, whichever is first, and only while the key that verified it is still
 * the key the verifier would use: a key set that answers another key (a rotation, a reloaded
 * JWKS) or none makes the cache forget every token.
 *
 * Only the verification is remembered. Revocation, the user and everything else of the auth
 * context still come through the AuthCache on every request (see `bearerAuth`).
 */
import * as nodeCrypto from "node:crypto";
import type { JWTPayload } from "jose";

export interface VerifiedTokenCacheOptions {
  /** Most tokens remembered (default 10 000); when full, the oldest verification goes first. */
  readonly maxEntries?: number;
  /** Longest a verification is remembered, seconds (default 300); never past the token's `exp`. */
  readonly maxAgeSeconds?: number;
}

/** A remembered verification. */
export interface VerifiedToken {
  readonly claims: Readonly<JWTPayload>;
  /** The key the verifier was given or resolved for this token (compared by identity). */
  readonly key: unknown;
  /** Epoch ms after which the entry is not used. */
  readonly expiresAt: number;
}

/** The cache a `bearerAuth` middleware holds (`middleware.verifiedTokens`). */
export interface VerifiedTokens {
  /** Tokens remembered now (expired ones count until they are met or pushed out). */
  readonly size: number;
  readonly maxEntries: number;
  readonly maxAgeSeconds: number;
  /** Forgets every token (a key rotation the middleware cannot see, say). */
  clear(): void;
  /** The digest a token is remembered under (base64url SHA-256 of the token string). */
  digest(token: string): string;
  /**
   * The entry for a digest while it is valid at `now` (epoch ms) and was verified by `key` (the
   * key the verifier would use for this token now). An expired entry is dropped; one verified
   * by another key means the key set changed, and every entry is dropped.
   */
  get(digest: string, now: number, key: unknown): VerifiedToken | undefined;
  /** Remembers a verification made at `now`; `claims.exp` (seconds) is required. */
  set(digest: string, entry: Omit<VerifiedToken, "expiresAt">, now: number): void;
  /** Hits, misses (not remembered or expired), and times every token was forgotten at once. */
  stats(): { hits: number; misses: number; clears: number };
}

/** Bun's one-shot SHA-256 (no node:crypto shim: about 0.3 µs for a 300-character token). */
const bunSha256 = (globalThis as { Bun?: { SHA256?: { hash?: unknown } } }).Bun?.SHA256?.hash as
  | ((text: string, encoding: "base64url") => string)
  | undefined;

/** base64url SHA-256: Bun's, else the one-shot `crypto.hash` where the runtime has it (half
 *  the cost of a Hash object), else `createHash`. All three give the same 43 characters. */
const sha256: (text: string) => string =
  typeof bunSha256 === "function"
    ? (text) => bunSha256(text, "base64url")
    : typeof nodeCrypto.hash === "function"
      ? (text) => nodeCrypto.hash("sha256", text, "base64url")
      : (text) => nodeCrypto.createHash("sha256").update(text).digest("base64url");

export const DEFAULT_VERIFIED_TOKENS_MAX_ENTRIES = 10_000;
export const DEFAULT_VERIFIED_TOKENS_MAX_AGE_SECONDS = 300;

export class VerifiedTokenCacheConfigError extends Error {
  override readonly name = "VerifiedTokenCacheConfigError";
}

export function createVerifiedTokens(options: VerifiedTokenCacheOptions = {}): VerifiedTokens {
  const maxEntries = options.maxEntries ?? DEFAULT_VERIFIED_TOKENS_MAX_ENTRIES;
  const maxAgeSeconds = options.maxAgeSeconds ?? DEFAULT_VERIFIED_TOKENS_MAX_AGE_SECONDS;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new VerifiedTokenCacheConfigError(
      `verifiedTokens.maxEntries must be a positive integer (got ${String(maxEntries)})`,
    );
  }
  if (!Number.isFinite(maxAgeSeconds) || maxAgeSeconds <= 0) {
    throw new VerifiedTokenCacheConfigError(
      `verifiedTokens.maxAgeSeconds must be a positive number (got ${String(maxAgeSeconds)})`,
    );
  }
  const maxAgeMs = maxAgeSeconds * 1000;
  // Insertion order is age order: the first key is the oldest verification.
  const entries = new Map<string, VerifiedToken>();
  let hits = 0;
  let misses = 0;
  let clears = 0;

  return {
    get size() {
      return entries.size;
    },
    maxEntries,
    maxAgeSeconds,
    clear() {
      entries.clear();
      clears += 1;
    },
    digest: sha256,
    get(digest, now, key) {
      const entry = entries.get(digest);
      if (entry !== undefined && entry.key !== key) {
        entries.clear();
        clears += 1;
      } else if (entry !== undefined && now >= entry.expiresAt) {
        entries.delete(digest);
      } else if (entry !== undefined) {
        hits += 1;
        return entry;
      }
      misses += 1;
      return undefined;
    },
    set(digest, entry, now) {
      const exp = entry.claims.exp;
      if (typeof exp !== "number") return; // nothing says when it stops being valid
      const expiresAt = Math.min(exp * 1000, now + maxAgeMs);
      if (expiresAt <= now) return;
      entries.delete(digest);
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
      // Every later request shares these claims: nobody may change them.
      entries.set(digest, { claims: deepFreeze(entry.claims), key: entry.key, expiresAt });
    },
    stats: () => ({ hits, misses, clears }),
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
