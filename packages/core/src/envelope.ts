/** The kinds of entry core stores. */
export type Kind = "ctx" | "user" | "role" | "teams" | "mem" | "nr";

/** A decoded L2 entry. */
export interface Envelope {
  readonly kind: Kind;
  /** The global generation (`gen:all`) read before the value was loaded. */
  readonly g: number;
  /** The team generation read before a role was loaded (roles only). */
  readonly t: number | undefined;
  /** True for an explicit "known absent" entry (a role that is "not a member"). */
  readonly absent: boolean;
  /** The value (a fresh object from JSON.parse), undefined when `absent`. */
  readonly value: unknown;
}

/** Encodes one entry: `{"v":1,"k":kind,"g":g,"x":value}`, or `"a":1` instead of `x` for a
 *  known-absent entry. Throws only if `value` is not JSON-serialisable (callers check first). */
export function encodeEnvelope(
  kind: Kind,
  g: number,
  value: unknown,
  absent: boolean,
  t?: number,
): string {
  const head = `{"v":1,"k":"${kind}","g":${g}${t === undefined ? "" : `,"t":${t}`}`;
  return absent ? `${head},"a":1}` : `${head},"x":${JSON.stringify(value)}}`;
}

const KINDS = new Set<string>(["ctx", "user", "role", "teams", "mem", "nr"]);

/** Decodes an entry of the expected kind; undefined (never a throw) for anything else. */
export function decodeEnvelope(raw: string, kind: Kind): Envelope | undefined {
  let o: unknown;
  try {
    o = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  const e = o as Record<string, unknown>;
  if (e.v !== 1 || e.k !== kind || !KINDS.has(kind)) return undefined;
  if (typeof e.g !== "number" || !Number.isSafeInteger(e.g) || e.g < 0) return undefined;
  if (e.t !== undefined && (typeof e.t !== "number" || !Number.isSafeInteger(e.t))) {
    return undefined;
  }
  const absent = e.a === 1;
  if (!absent && !("x" in e)) return undefined;
  if (absent && "x" in e) return undefined;
  return { kind, g: e.g, t: e.t as number | undefined, absent, value: absent ? undefined : e.x };
}
