/** Validation and copying of the values callers hand in and L2 hands back. Every value the
 *  cache keeps is a deep-frozen JSON copy: callers never share a mutable object with it. */

/** A user record: any JSON object (redacted fields are removed before caching). */
export type UserRecord = Record<string, unknown>;

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

export function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

function jsonCopy(value: unknown, argument: string): unknown {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = undefined;
  }
  if (s === undefined) throw typeError(argument, "JSON-serialisable", value);
  return JSON.parse(s);
}

/** A frozen, redacted copy of a user record; TypeError naming `argument` if it is not one. */
export function copyUser(
  user: unknown,
  redact: readonly string[],
  argument: string,
): Readonly<UserRecord> {
  if (!isPlainObject(user)) throw typeError(argument, "a plain object", user);
  const copy = jsonCopy(user, argument) as UserRecord;
  for (const field of redact) delete copy[field];
  return deepFreeze(copy);
}

/** A frozen copy of a context; TypeError naming `argument` for the wrong shape. */
export function copyContext(
  ctx: unknown,
  redact: readonly string[],
  argument: string,
): AuthContext<UserRecord> {
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
    user: user === null ? null : copyUser(user, redact, `${argument}.user`),
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
