/** Checks of the arguments of the public methods: a TypeError naming the argument. */
import { MAX_IDENTIFIER_LENGTH } from "./message.ts";
import { canonicalTeamIds as canonicalIds, typeError } from "./values.ts";

/** Identifiers (e-mails, jtis, team ids) are bounded so that every log entry naming one fits
 *  in MAX_LOG_ENTRY_BYTES: nothing is cached that could not be invalidated everywhere. */
export function tooLong(argument: string, v: string): TypeError {
  return new TypeError(
    `@authcache/core: ${argument} must be at most ${MAX_IDENTIFIER_LENGTH} characters ` +
      `(UTF-16 code units), got ${v.length}`,
  );
}

export function checkString(argument: string, v: unknown): void {
  if (typeof v !== "string") throw typeError(argument, "a string", v);
  if (v.length > MAX_IDENTIFIER_LENGTH) throw tooLong(argument, v);
}

/** A jti argument: a string, or null/undefined for "no jti". */
export function checkJti(v: unknown): string | undefined {
  const j = jtiType(v);
  checkJtiLength(j);
  return j;
}

/** The type half of {@link checkJti}: the length is left to {@link checkJtiLength}. */
export function jtiType(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw typeError("jti", "a string, null or undefined", v);
  return v;
}

/** The length half of {@link checkJti}, for a jti that passed {@link jtiType}. A read may
 *  leave it to its miss path: an L1 hit on (email, jti) is an entry stored under that very
 *  jti, whose length was checked when it was stored, so a hit implies this check passes (and
 *  the hit then reads no more of the jti than its identity: reading its length is one more
 *  scattered memory read per hit, measured ~10-40 ns with 10 000 tokens in L1). */
export function checkJtiLength(j: string | undefined): void {
  if (j !== undefined && j.length > MAX_IDENTIFIER_LENGTH) throw tooLong("jti", j);
}

/** The canonical form of a set of team ids (sorted, de-duplicated), each bounded like every
 *  identifier. */
export function canonicalTeamIds(v: unknown, argument: string): string[] {
  const ids = canonicalIds(v, argument);
  for (const id of ids) if (id.length > MAX_IDENTIFIER_LENGTH) throw tooLong(argument, id);
  return ids;
}

export function checkBoolean(argument: string, v: unknown): void {
  if (typeof v !== "boolean") throw typeError(argument, "a boolean", v);
}

export function checkLoader(v: unknown): void {
  if (typeof v !== "function") throw typeError("loader", "a function", v);
}
