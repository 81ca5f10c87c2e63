/** Base class of every error authcache raises on purpose. `cause` keeps the underlying error. */
export class AuthCacheError extends Error {
  override readonly name: string = "AuthCacheError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(`@authcache/core: ${message}`, options);
  }
}

/** An L2 call failed, timed out or was refused by the open circuit breaker. */
export class StoreError extends AuthCacheError {
  override readonly name: string = "StoreError";
  constructor(
    /** The Store method that failed ("read", "setIfFence", ...). */
    readonly operation: string,
    /** The store's name ("memory", "redis", ...). */
    readonly store: string,
    options?: { cause?: unknown },
  ) {
    super(`store "${store}" ${operation} failed`, options);
  }
}

/** A bus call failed, timed out or was refused by the open circuit breaker. */
export class BusError extends AuthCacheError {
  override readonly name: string = "BusError";
  constructor(
    readonly operation: string,
    readonly bus: string,
    options?: { cause?: unknown },
  ) {
    super(`bus "${bus}" ${operation} failed`, options);
  }
}

/** The guarded call did not settle within the timeout. Used as the `cause` of a Store/BusError. */
export class TimeoutError extends AuthCacheError {
  override readonly name: string = "TimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`call timed out after ${timeoutMs} ms`);
  }
}

/** The circuit breaker is open: the call was not made. Used as the `cause` of a Store/BusError. */
export class CircuitOpenError extends AuthCacheError {
  override readonly name: string = "CircuitOpenError";
  constructor(readonly target: string) {
    super(`circuit breaker for ${target} is open; call skipped`);
  }
}

/** An invalidation was applied locally but L2 or the bus failed (both were attempted), so
 *  other instances may keep serving the old entries until `maxStaleMs` passes, or L2 until TTL. */
export class InvalidationError extends AuthCacheError {
  override readonly name: string = "InvalidationError";
  constructor(
    /** The public method that failed ("invalidateUser", ...). */
    readonly operation: string,
    /** Every failure, in the order they happened; `cause` is the first. */
    readonly failures: readonly AuthCacheError[],
  ) {
    super(`${operation} did not reach ${describeAll(failures)}`, { cause: failures[0] });
  }
}

/** Each failing tier once, in first-failure order, its operations with a count when repeated:
 *  "the store (invalidate 4 times, bumpFence) and the bus (publish)". A user invalidation makes
 *  several store calls; one phrase per call said nothing more. */
function describeAll(failures: readonly AuthCacheError[]): string {
  const tiers = new Map<string, Map<string, number>>();
  for (const e of failures) {
    const [tier, op] = describe(e);
    let ops = tiers.get(tier);
    if (ops === undefined) {
      ops = new Map();
      tiers.set(tier, ops);
    }
    ops.set(op, (ops.get(op) ?? 0) + 1);
  }
  const parts: string[] = [];
  for (const [tier, ops] of tiers) {
    const list = [...ops].map(([op, n]) => (n === 1 ? op : `${op} ${n} times`)).join(", ");
    parts.push(tier === "" ? list : `${tier} (${list})`);
  }
  return parts.join(" and ");
}

/** [tier, operation]; an error of another kind is its own message with no tier. */
function describe(e: AuthCacheError): [string, string] {
  if (e instanceof StoreError) return ["the store", e.operation];
  if (e instanceof BusError) return ["the bus", e.operation];
  return ["", e.message];
}
