import type { InvalidationMessage } from "./contracts.ts";

/** The wire form of a log entry: compact JSON, versioned. Adapters store it as one string. */
export function encodeMessage(message: InvalidationMessage): string {
  return JSON.stringify({ v: 1, ...message });
}

const isString = (v: unknown): v is string => typeof v === "string";

/** Reads a log entry back; returns undefined (never throws) for anything malformed, so a
 *  follower can drop and count a bad entry instead of crashing. */
export function decodeMessage(raw: unknown): InvalidationMessage | undefined {
  if (!isString(raw) || raw.length === 0 || raw.length > 1_000_000) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof m !== "object" || m === null || (m as { v?: unknown }).v !== 1) return undefined;
  const o = m as Record<string, unknown>;
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
