/** Validation and copying of the values callers hand in and L2 hands back. Every value the
 *  cache keeps is a deep-frozen JSON copy: callers never share a mutable object with it. */

/** A user record: any JSON object (redacted fields are removed before caching). */
export type UserRecord = Record<string, unknown>;

/** A team as `getUserTeamObjects` keeps it: any JSON object (its id, name, ...). */
export type TeamRecord = Record<string, unknown>;

/** What `getAuthContext` returns: the user, their personal team and the token's status. */
export interface AuthContext<U extends object = UserRecord> {
  readonly user: Readonly<U> | null;
  readonly personalTeamId: string | null;
  readonly isTokenRevoked: boolean;
}

/** A revocation as `syncRevokedTokens` accepts it: a jti, or a jti with the token's expiry. */
export type RevocationEntry =
  | string
  | { readonly jti: string; readonly expiresAt?: number | null | undefined };

export function typeError(argument: string, expected: string, got: unknown): TypeError {
  const shown = got === null ? "null" : Array.isArray(got) ? "an array" : typeof got;
  return new TypeError(`@authcache/core: ${argument} must be ${expected}, got ${shown}`);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The longest lifetime core gives anything it writes to a store (an entry's TTL, the
 *  revocation retention, a revocation's deadline): 10 years of 365 days. Every store holds
 *  such a deadline; 1e300 or Number.MAX_VALUE would break Redis's PEXPIREAT for every later
 *  write to the same revoked set. */
export const MAX_LIFETIME_MS = 315_360_000_000;

/** The `expiresAt` of a revocation: undefined/null (the retention applies), or a finite epoch
 *  ms at most {@link MAX_LIFETIME_MS} after `now`. TypeError for another type, RangeError past
 *  the bound (a deadline in the past is accepted: the token has expired already). */
export function checkExpiresAt(v: unknown, now: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw typeError("expiresAt", "a finite number (epoch ms), null or undefined", v);
  }
  if (v > now + MAX_LIFETIME_MS) {
    throw new RangeError(
      `@authcache/core: expiresAt must be at most ${MAX_LIFETIME_MS} ms (10 years) from now ` +
        `(epoch ms, at most ${now + MAX_LIFETIME_MS} now), got ${v}`,
    );
  }
  return v;
}

/** How deep a cached value may nest: a user record is level 1, its fields' objects level 2,
 *  and so on. set* and loader results nested deeper are a TypeError naming the argument; an
 *  L2 entry nested deeper (a context holds its user one level down) is a counted miss. Every
 *  walk over a value stays far from the stack limit. */
export const MAX_VALUE_DEPTH = 64;

/** Whether every object and array in `v` sits at most `max` levels deep (`v` itself is level
 *  1; scalars are level 0). Iterative: any depth of input is safe to ask about. */
export function nestedWithin(v: unknown, max: number): boolean {
  if (typeof v !== "object" || v === null) return true;
  const stack: object[] = [v];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const o = stack.pop() as object;
    const d = depths.pop() as number;
    if (d > max) return false;
    for (const child of Array.isArray(o) ? o : Object.values(o)) {
      if (typeof child === "object" && child !== null) {
        stack.push(child);
        depths.push(d + 1);
      }
    }
  }
  return true;
}

/** Freezes `v` and everything it holds. Iterative: no input depth overflows the stack. */
export function deepFreeze<T>(v: T): T {
  if (typeof v !== "object" || v === null || Object.isFrozen(v)) return v;
  const stack: object[] = [v];
  while (stack.length > 0) {
    const o = stack.pop() as object;
    Object.freeze(o);
    for (const child of Object.values(o)) {
      if (typeof child === "object" && child !== null && !Object.isFrozen(child)) {
        stack.push(child);
      }
    }
  }
  return v;
}

const JSON_ONLY = `JSON-serialisable and nested at most ${MAX_VALUE_DEPTH} deep`;

function jsonCopy(value: unknown, argument: string): unknown {
  // Checked before stringify too: JSON.stringify of a value nested tens of thousands deep runs
  // for seconds before it gives up (and a cycle is refused here at once).
  if (!nestedWithin(value, MAX_VALUE_DEPTH)) throw typeError(argument, JSON_ONLY, value);
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    // A cycle, a BigInt, or nesting deep enough to exhaust the stack.
    s = undefined;
  }
  if (s === undefined) throw typeError(argument, JSON_ONLY, value);
  const copy: unknown = JSON.parse(s);
  if (!nestedWithin(copy, MAX_VALUE_DEPTH)) throw typeError(argument, JSON_ONLY, value);
  return copy;
}

/** A frozen, redacted copy of a user record; TypeError naming `argument` if it is not one. */
export function copyUser<U extends object = UserRecord>(
  user: unknown,
  redact: readonly string[],
  argument: string,
): Readonly<U> {
  if (!isPlainObject(user)) throw typeError(argument, "a plain object", user);
  const copy = jsonCopy(user, argument) as UserRecord;
  for (const field of redact) delete copy[field];
  // A plain JSON object: the application's U by its own declaration (core cannot check it).
  return deepFreeze(copy) as Readonly<U>;
}

/** A frozen copy of a context; TypeError naming `argument` for the wrong shape. */
export function copyContext<U extends object = UserRecord>(
  ctx: unknown,
  redact: readonly string[],
  argument: string,
): AuthContext<U> {
  if (!isPlainObject(ctx)) throw typeError(argument, "an object", ctx);
  const { user, personalTeamId, isTokenRevoked } = ctx;
  if (user !== null && !isPlainObject(user)) {
    throw typeError(`${argument}.user`, "a plain object or null", user);
  }
  if (
    personalTeamId !== undefined &&
    personalTeamId !== null &&
    typeof personalTeamId !== "string"
  ) {
    throw typeError(`${argument}.personalTeamId`, "a string or null", personalTeamId);
  }
  if (isTokenRevoked !== undefined && typeof isTokenRevoked !== "boolean") {
    throw typeError(`${argument}.isTokenRevoked`, "a boolean", isTokenRevoked);
  }
  return Object.freeze({
    user: user === null ? null : copyUser<U>(user, redact, `${argument}.user`),
    personalTeamId: personalTeamId ?? null,
    isTokenRevoked: isTokenRevoked === true,
  });
}

/** Takes a user record decoded from L2 (a fresh object nobody else holds): checks its shape,
 *  removes the redacted fields, freezes it. No copy. Throws a TypeError for the wrong shape. */
export function adoptUser<U extends object = UserRecord>(
  v: unknown,
  redact: readonly string[],
): Readonly<U> {
  if (!isPlainObject(v)) throw typeError("stored user", "a plain object", v);
  // One walk checks the depth and freezes what is below the record (the record itself is
  // frozen after redaction): a fresh JSON tree, so nothing in it is frozen or shared yet.
  if (!freezeBelow(v, MAX_VALUE_DEPTH)) throw typeError("stored user", JSON_ONLY, v);
  for (const field of redact) delete v[field];
  // Written by a fill of this cache's U (the envelope is bound to its key and kind).
  return Object.freeze(v) as Readonly<U>;
}

/** {@link nestedWithin} for a fresh JSON tree `v` (level 1), freezing every object and array
 *  below `v` on the way (not `v` itself). False, with part of the tree frozen, when too deep. */
function freezeBelow(v: object, max: number): boolean {
  const stack: object[] = [v];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const o = stack.pop() as object;
    const d = depths.pop() as number;
    if (d > max) return false;
    if (o !== v) Object.freeze(o);
    for (const child of Array.isArray(o) ? o : Object.values(o)) {
      if (typeof child === "object" && child !== null) {
        stack.push(child);
        depths.push(d + 1);
      }
    }
  }
  return true;
}

/** {@link copyContext} for a context decoded from L2 (a fresh object nobody else holds): the
 *  same checks and redaction, without the copy. Throws a TypeError for the wrong shape. */
export function adoptContext<U extends object = UserRecord>(
  v: unknown,
  redact: readonly string[],
): AuthContext<U> {
  if (!isPlainObject(v)) throw typeError("stored context", "an object", v);
  const { user, personalTeamId, isTokenRevoked } = v;
  if (user !== null && !isPlainObject(user)) {
    throw typeError("stored context.user", "a plain object or null", user);
  }
  if (
    personalTeamId !== undefined &&
    personalTeamId !== null &&
    typeof personalTeamId !== "string"
  ) {
    throw typeError("stored context.personalTeamId", "a string or null", personalTeamId);
  }
  if (isTokenRevoked !== undefined && typeof isTokenRevoked !== "boolean") {
    throw typeError("stored context.isTokenRevoked", "a boolean", isTokenRevoked);
  }
  return Object.freeze({
    user: user === null ? null : adoptUser<U>(user, redact),
    personalTeamId: personalTeamId ?? null,
    isTokenRevoked: isTokenRevoked === true,
  });
}

export function isStringArray(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (typeof x !== "string") return false;
  return true;
}

/** A frozen copy of a team list (order kept). */
export function copyTeams(v: unknown, argument: string): readonly string[] {
  if (!isStringArray(v)) throw typeError(argument, "an array of strings", v);
  return Object.freeze([...v]);
}

/** The canonical form of a set of team ids: de-duplicated, sorted by code unit. */
export function canonicalTeamIds(v: unknown, argument: string): string[] {
  if (!isStringArray(v)) throw typeError(argument, "an array of strings", v);
  return [...new Set(v)].sort();
}
