import { Buffer } from "node:buffer";
import type { InvalidationMessage, RevokedToken } from "./contracts.ts";

/**
 * The largest log entry, in UTF-8 bytes of its encoded form, that a follower applies: a longer
 * one is dropped by `decodeMessage`. Publishers (core, every bus adapter) and followers share
 * this one number; core never publishes an entry above it (its identifiers are bounded by
 * {@link MAX_IDENTIFIER_LENGTH} and batches of revocations are split well below it).
 */
export const MAX_LOG_ENTRY_BYTES = 1_000_000;

/**
 * The longest identifier (e-mail, jti, team id) the cache accepts, in UTF-16 code units; every
 * public method rejects a longer one with a TypeError naming the argument. JSON escaping makes
 * one code unit at most 6 bytes (`\u0000`), so the largest single-identifier entry, a role
 * (two identifiers), stays far below {@link MAX_LOG_ENTRY_BYTES}.
 */
export const MAX_IDENTIFIER_LENGTH = 16_384;

/**
 * The size `syncRevokedTokens` aims at for one `revokeMany` entry: about 900 UUID jtis, small
 * enough that a follower reading a page of 500 entries holds tens of MB at most. An entry of a
 * single worst-case jti may exceed it; it never exceeds {@link MAX_LOG_ENTRY_BYTES}.
 */
export const REVOCATION_BATCH_BYTES = 64 * 1024;

/** The wire form of a log entry: compact JSON, versioned. Adapters store it as one string.
 *  Throws a RangeError for an entry above {@link MAX_LOG_ENTRY_BYTES}: every follower would
 *  drop it, so it must never be appended. */
export function encodeMessage(message: InvalidationMessage): string {
  const raw = JSON.stringify({ v: 1, ...message });
  if (raw.length > MAX_LOG_ENTRY_BYTES / 3 && utf8Length(raw) > MAX_LOG_ENTRY_BYTES) {
    throw new RangeError(
      `@authcache/core: a "${message.type}" log entry of ${utf8Length(raw)} bytes is above ` +
        `MAX_LOG_ENTRY_BYTES (${MAX_LOG_ENTRY_BYTES}); every follower would drop it`,
    );
  }
  return raw;
}

/**
 * Splits revocations into `revokeMany` entries of at most {@link REVOCATION_BATCH_BYTES} each
 * (a single revocation larger than that gets an entry of its own), in order.
 */
export function revocationEntries(
  revocations: readonly RevokedToken[],
  hashed?: string,
): InvalidationMessage[] {
  const entry = (batch: RevokedToken[]): InvalidationMessage =>
    hashed === undefined
      ? { type: "revokeMany", revocations: batch }
      : { type: "revokeMany", revocations: batch, hashed };
  const empty = utf8Length(encodeMessage(entry([])));
  const entries: InvalidationMessage[] = [];
  let batch: RevokedToken[] = [];
  let size = empty;
  for (const r of revocations) {
    // The item as it encodes, plus its separating comma.
    const item = utf8Length(JSON.stringify({ jti: r.jti, expiresAt: r.expiresAt })) + 1;
    if (batch.length > 0 && size + item > REVOCATION_BATCH_BYTES) {
      entries.push(entry(batch));
      batch = [];
      size = empty;
    }
    batch.push(r);
    size += item;
  }
  if (batch.length > 0) entries.push(entry(batch));
  return entries;
}

const isString = (v: unknown): v is string => typeof v === "string";

/** Reads a log entry back; returns undefined (never throws) for anything malformed, so a
 *  follower can drop and count a bad entry instead of crashing. */
export function decodeMessage(raw: unknown): InvalidationMessage | undefined {
  // A UTF-16 code unit is at least one UTF-8 byte: the length bounds the size cheaply first.
  if (!isString(raw) || raw.length === 0 || raw.length > MAX_LOG_ENTRY_BYTES) return undefined;
  // A code unit is at most 3 UTF-8 bytes: only a long entry needs counting.
  if (raw.length > MAX_LOG_ENTRY_BYTES / 3 && utf8Length(raw) > MAX_LOG_ENTRY_BYTES) {
    return undefined;
  }
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof m !== "object" || m === null || (m as { v?: unknown }).v !== 1) return undefined;
  const o = m as Record<string, unknown>;
  const body = decodeBody(o);
  if (body === undefined || o.hashed === undefined) return body;
  // A key fingerprint (KeyCodec.keyId): short, and only on entries that name identifiers.
  if (body.type === "all" || !isString(o.hashed) || o.hashed.length === 0) return undefined;
  if (o.hashed.length > 64) return undefined;
  return { ...body, hashed: o.hashed } as InvalidationMessage;
}

function decodeBody(o: Record<string, unknown>): InvalidationMessage | undefined {
  switch (o.type) {
    case "user":
    case "teams":
    case "membership":
    case "team":
      return isString(o.email) ? { type: o.type, email: o.email } : undefined;
    case "revoke": {
      if (!isString(o.jti)) return undefined;
      if (o.expiresAt === undefined) return { type: "revoke", jti: o.jti };
      return typeof o.expiresAt === "number" && Number.isFinite(o.expiresAt)
        ? { type: "revoke", jti: o.jti, expiresAt: o.expiresAt }
        : undefined;
    }
    case "revokeMany": {
      if (!Array.isArray(o.revocations)) return undefined;
      const revocations: RevokedToken[] = [];
      for (const r of o.revocations as unknown[]) {
        if (typeof r !== "object" || r === null) return undefined;
        const { jti, expiresAt } = r as Record<string, unknown>;
        if (!isString(jti) || typeof expiresAt !== "number" || !Number.isFinite(expiresAt)) {
          return undefined;
        }
        revocations.push({ jti, expiresAt });
      }
      return { type: "revokeMany", revocations };
    }
    case "role":
      return isString(o.email) && isString(o.teamId)
        ? { type: "role", email: o.email, teamId: o.teamId }
        : undefined;
    case "teamRoles":
      return isString(o.teamId) ? { type: "teamRoles", teamId: o.teamId } : undefined;
    case "all":
      return typeof o.generation === "number" && Number.isSafeInteger(o.generation)
        ? { type: "all", generation: o.generation }
        : undefined;
    default:
      return undefined;
  }
}

/** The UTF-8 size of `s` (a lone surrogate counts 3 bytes, as its replacement character). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}
