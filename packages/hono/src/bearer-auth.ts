/**
 * `bearerAuth(options)`: a Hono middleware that authenticates `Authorization: Bearer <JWT>`
 * requests with jose (algorithms pinned), then establishes the caller's auth context through an
 * authcache `AuthCache` (one loader call on a miss, none on a hit), and refuses with RFC 6750
 * answers that carry the RFC 9728 `resource_metadata` parameter.
 */
import type { AuthCache, AuthContext } from "@authcache/core";
import type { Context, MiddlewareHandler } from "hono";
import {
  base64url,
  type CryptoKey,
  errors,
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
} from "jose";
import { type BearerErrorCode, bearerChallenge } from "./challenge.ts";
import {
  createVerifiedTokens,
  type VerifiedTokenCacheOptions,
  type VerifiedTokens,
} from "./verified-tokens.ts";

/** Why a request was let in or refused; handy as a metrics label. */
export type AuthOutcome =
  | "ok"
  | "missing_token"
  | "invalid_token"
  | "revoked"
  | "unknown_user"
  | "disabled"
  | "forbidden"
  | "backend_error";

/** What the middleware puts in `c.var.auth`. Its first four fields are the MCP SDK's `AuthInfo`. */
export interface BearerAuthInfo<U extends object = Record<string, unknown>> {
  /** The raw bearer token. */
  readonly token: string;
  /** `client_id` claim when present, else the subject. */
  readonly clientId: string;
  /** The `scope` claim split on spaces (empty when absent). */
  readonly scopes: string[];
  /** Token expiry, seconds since epoch (as the MCP SDK's `AuthInfo`). */
  readonly expiresAt: number;
  /** The subject: the key of the user in the cache (an e-mail address in authcache's terms). */
  readonly subject: string;
  readonly jti: string;
  /** The verified claims. Never cached. */
  readonly claims: Readonly<JWTPayload>;
  /** The user record from the auth context (never null here: an unknown user is refused). */
  readonly user: Readonly<U>;
  readonly personalTeamId: string | null;
}

/** A refusal an `authorize` hook returns. */
export interface Refusal {
  readonly status: 401 | 403;
  readonly message: string;
  /** Default: `insufficient_scope` for 403, `invalid_token` for 401. */
  readonly error?: BearerErrorCode;
  /** Scopes needed, for the `scope` parameter of the challenge. */
  readonly scope?: string;
  /** Metrics label (default "forbidden" for 403, "invalid_token" for 401). */
  readonly outcome?: AuthOutcome;
}

export interface RefusalAnswer {
  readonly status: 401 | 403 | 503;
  readonly outcome: AuthOutcome;
  /** RFC 6750 code, absent when no credentials were sent and on 503. */
  readonly error?: BearerErrorCode;
  /** Human-readable reason (never the token). */
  readonly message: string;
}

export interface BearerAuthOptions<U extends object, V extends object = BearerAuthInfo<U>> {
  /** The verification key: an HMAC secret (string or bytes), a public key, or a JWKS resolver. */
  readonly key: string | Uint8Array | CryptoKey | KeyObject | JWTVerifyGetKey;
  /** Accepted JWS algorithms; required and never `none`. Pin exactly the one you sign with. */
  readonly algorithms: readonly string[];
  readonly issuer?: string | readonly string[];
  readonly audience?: string | readonly string[];
  /** Clock skew tolerated on exp/nbf, seconds (default 0). */
  readonly clockToleranceSeconds?: number;
  /** Require a `jti` (default true): without one a token cannot be revoked. */
  readonly requireJti?: boolean;
  /**
   * The cache: `resolveAuthContext`, and `getAuthContextSync` first when it has one (an L1 hit
   * answered in the same turn; revocation is checked there as in `resolveAuthContext`).
   */
  readonly cache: Pick<AuthCache<U>, "resolveAuthContext"> &
    Partial<Pick<AuthCache<U>, "getAuthContextSync">>;
  /** The database load on a cache miss: user, personal team, revocation of the jti. */
  loadContext(subject: string, jti: string | null): Promise<AuthContext<U>> | AuthContext<U>;
  /** Refuse a known user whose account is off (default: `user.isActive === false`). */
  isActive?(user: Readonly<U>): boolean;
  /**
   * Further checks once the context is established (team scope, roles). Return a refusal, or
   * the value to store in `c.var.auth` (default: the `BearerAuthInfo` itself).
   */
  authorize?(info: BearerAuthInfo<U>, c: Context): Promise<Refusal | V> | Refusal | V;
  /** Absolute URL of the RFC 9728 metadata document, sent as `resource_metadata`. */
  readonly resourceMetadata?: string | ((c: Context) => string);
  /** The `realm` of the challenge. */
  readonly realm?: string;
  /** Called once per request with its outcome (metrics). */
  onOutcome?(outcome: AuthOutcome, c: Context): void;
  /** Called when the cache or the loader failed (the request gets 503: fail closed). */
  onBackendError?(error: unknown, c: Context): void;
  /** The response body of a refusal (default `{ error, error_description }`). */
  body?(refusal: RefusalAnswer, c: Context): Record<string, unknown>;
  /** Clock for `exp`/`nbf` checks (tests), epoch ms. */
  now?(): number;
  /**
   * Remember verified tokens (off by default): `true` or `{ maxEntries, maxAgeSeconds }`
   * (defaults 10 000 and 300 s). A token seen again skips the signature check until its `exp`
   * or `maxAgeSeconds` after it was verified, whichever is first; it is remembered by a SHA-256
   * digest of the token, never the token itself. With a key resolver (a JWKS), a remembered
   * token is used only while the resolver still answers the key that verified it; when it
   * answers another key or none (a rotation, a reloaded key set), every token is forgotten. The
   * auth context — revocation, the user, `isActive` — still comes through `cache` on every
   * request. The middleware exposes the cache as `middleware.verifiedTokens` (`clear()`, `size`).
   */
  readonly verifiedTokens?: boolean | VerifiedTokenCacheOptions;
  /**
   * Longest bearer token accepted, in characters (default 8192): a longer one is refused (401
   * `invalid_token`) before it is parsed, hashed or verified.
   */
  readonly maxTokenLength?: number;
}

/** The middleware, with its verified-token cache when `verifiedTokens` is on. */
export type BearerAuthMiddleware<V extends object> = MiddlewareHandler<BearerEnv<V>> & {
  readonly verifiedTokens: VerifiedTokens | undefined;
};

/** Thrown at construction for options that would make the middleware unsafe. */
export class BearerAuthConfigError extends Error {
  override readonly name = "BearerAuthConfigError";
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i;

/** Default of `maxTokenLength`: 8 KiB, the usual header line limit of proxies. */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;

export type BearerEnv<V extends object> = { Variables: { auth: V } };

/** Creates the middleware. Handlers read the caller as `c.var.auth` (or `c.get("auth")`). */
export function bearerAuth<U extends object, V extends object = BearerAuthInfo<U>>(
  options: BearerAuthOptions<U, V>,
): BearerAuthMiddleware<V> {
  const algorithms = [...(options.algorithms ?? [])];
  if (algorithms.length === 0) {
    throw new BearerAuthConfigError(
      "@authcache/hono bearerAuth: `algorithms` must list at least one algorithm",
    );
  }
  if (algorithms.some((a) => a.toLowerCase() === "none")) {
    throw new BearerAuthConfigError(
      '@authcache/hono bearerAuth: `algorithms` must not contain "none"',
    );
  }
  const key = typeof options.key === "string" ? new TextEncoder().encode(options.key) : options.key;
  // An HMAC secret is imported once per algorithm (jose would import the bytes on every call).
  const verifyKey: typeof key =
    key instanceof Uint8Array && algorithms.every((a) => HMAC.test(a)) ? hmacResolver(key) : key;
  const resolver = typeof key === "function" ? key : undefined;
  const verifiedTokens =
    options.verifiedTokens === undefined || options.verifiedTokens === false
      ? undefined
      : createVerifiedTokens(options.verifiedTokens === true ? {} : options.verifiedTokens);
  const clock = options.now ?? Date.now;
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;
  if (!Number.isSafeInteger(maxTokenLength) || maxTokenLength < 1) {
    throw new BearerAuthConfigError(
      `@authcache/hono bearerAuth: \`maxTokenLength\` must be a positive integer (got ${String(maxTokenLength)})`,
    );
  }
  // "Bearer" + at least one space + the token + trailing whitespace the pattern allows.
  const maxHeaderLength = maxTokenLength + 64;
  const cache = options.cache;
  const requireJti = options.requireJti ?? true;
  const isActive =
    options.isActive ?? ((u: Readonly<U>) => (u as { isActive?: unknown }).isActive !== false);
  const body =
    options.body ??
    ((r: RefusalAnswer) => ({ error: r.error ?? "unavailable", error_description: r.message }));

  const refuse = (c: Context, answer: RefusalAnswer, scope?: string) => {
    options.onOutcome?.(answer.outcome, c);
    if (answer.status !== 503) {
      const metadata =
        typeof options.resourceMetadata === "function"
          ? options.resourceMetadata(c)
          : options.resourceMetadata;
      c.header(
        "WWW-Authenticate",
        bearerChallenge({
          realm: options.realm,
          error: answer.error,
          errorDescription: answer.error ? answer.message : undefined,
          scope,
          resourceMetadata: metadata,
        }),
      );
    }
    c.header("Cache-Control", "no-store");
    return c.json(body(answer, c), answer.status);
  };
  const invalid = (c: Context, outcome: AuthOutcome, message: string) =>
    refuse(c, { status: 401, outcome, error: "invalid_token", message });

  /** The claims of a remembered verification still valid for this token, else undefined;
   *  with a resolver, only while it still answers the key that verified the token. */
  const rememberedByResolver = async (tokens: VerifiedTokens, digest: string, token: string) => {
    // The key the resolver answers for this token now (a key set may have changed since the
    // verification; none, when the token's header cannot be read or no key matches).
    let current: unknown;
    try {
      const parts = compactParts(token);
      current = await (resolver as JWTVerifyGetKey)(decodeHeader(parts.protected ?? ""), parts);
    } catch {
      current = undefined;
    }
    return tokens.get(digest, clock(), current)?.claims;
  };

  const middleware = async (c: Context<BearerEnv<V>>, next: () => Promise<void>) => {
    const header = c.req.header("authorization") ?? "";
    if (header.length > maxHeaderLength) {
      return invalid(c, "invalid_token", "Token is too long");
    }
    // A remembered token in the usual `Bearer <token>` form is recognised by its digest alone:
    // a hit means this string is, byte for byte, a token that matched BEARER and was verified
    // (SHA-256), so the pattern (about 0.25 µs on a 300-character header) is skipped. With a key
    // resolver the lookup is asynchronous: the pattern runs first, as for any miss.
    let token: string | undefined;
    let digest: string | undefined;
    let claims: JWTPayload | undefined;
    let looked: string | undefined;
    if (
      verifiedTokens !== undefined &&
      !resolver &&
      header.length - 7 <= maxTokenLength &&
      header.startsWith("Bearer ")
    ) {
      looked = header.slice(7);
      digest = verifiedTokens.digest(looked);
      claims = verifiedTokens.get(digest, clock(), key)?.claims;
      if (claims !== undefined) token = looked;
    }
    if (token === undefined) {
      const match = BEARER.exec(header);
      if (!match?.[1]) {
        return refuse(c, {
          status: 401,
          outcome: "missing_token",
          message: "Missing bearer token",
        });
      }
      token = match[1];
      if (token.length > maxTokenLength) return invalid(c, "invalid_token", "Token is too long");
      // Not looked up yet (another form of the header, or a resolver): look up now.
      if (verifiedTokens !== undefined && token !== looked) {
        digest = verifiedTokens.digest(token);
        claims = resolver
          ? await rememberedByResolver(verifiedTokens, digest, token)
          : verifiedTokens.get(digest, clock(), key)?.claims;
      }
    }
    if (claims === undefined) {
      try {
        const now = clock();
        const verifyOptions = {
          algorithms,
          ...(options.issuer !== undefined ? { issuer: toList(options.issuer) } : {}),
          ...(options.audience !== undefined ? { audience: toList(options.audience) } : {}),
          requiredClaims: requireJti ? ["exp", "sub", "jti"] : ["exp", "sub"],
          clockTolerance: options.clockToleranceSeconds ?? 0,
          ...(options.now ? { currentDate: new Date(now) } : {}),
        };
        // The key the resolver answered for this token (compared on later hits).
        let resolved: unknown = key;
        const verified =
          typeof verifyKey !== "function"
            ? await jwtVerify(token, verifyKey, verifyOptions)
            : await jwtVerify(
                token,
                resolver
                  ? async (header: JWTHeaderParameters, input: FlattenedJWSInput) => {
                      const k = await resolver(header, input);
                      resolved = k;
                      return k;
                    }
                  : verifyKey,
                verifyOptions,
              );
        claims = verified.payload;
        if (digest !== undefined) {
          verifiedTokens?.set(digest, { claims, key: resolved }, now);
        }
      } catch (error) {
        return invalid(c, "invalid_token", describe(error));
      }
    }
    const subject = claims.sub;
    const jti = typeof claims.jti === "string" ? claims.jti : null;
    if (typeof subject !== "string" || subject === "" || (requireJti && !jti)) {
      return invalid(c, "invalid_token", "Token subject or id is empty");
    }

    let context: AuthContext<U> | undefined;
    try {
      // An L1 hit in this turn (revocation checked first, as resolveAuthContext does); else L2
      // or the loader.
      context =
        cache.getAuthContextSync?.(subject, jti) ??
        (await cache.resolveAuthContext(subject, jti, () => options.loadContext(subject, jti)));
      // The loader always answers; undefined means the cache could not: fail closed.
      if (!context) throw new Error("the auth context could not be resolved");
    } catch (error) {
      options.onBackendError?.(error, c);
      return refuse(c, {
        status: 503,
        outcome: "backend_error",
        message: "Authentication is temporarily unavailable",
      });
    }
    if (context.isTokenRevoked) return invalid(c, "revoked", "Token has been revoked");
    if (!context.user) return invalid(c, "unknown_user", "Unknown user");
    if (!isActive(context.user)) return invalid(c, "disabled", "Account disabled");

    const info: BearerAuthInfo<U> = {
      token,
      clientId: typeof claims.client_id === "string" ? claims.client_id : subject,
      scopes: typeof claims.scope === "string" ? claims.scope.split(" ").filter(Boolean) : [],
      expiresAt: claims.exp ?? 0,
      subject,
      jti: jti ?? "",
      claims,
      user: context.user,
      personalTeamId: context.personalTeamId,
    };
    let value: V | Refusal;
    if (options.authorize) {
      try {
        const answer = options.authorize(info, c);
        value = isThenable(answer) ? await answer : answer;
      } catch (error) {
        options.onBackendError?.(error, c);
        return refuse(c, {
          status: 503,
          outcome: "backend_error",
          message: "Authentication is temporarily unavailable",
        });
      }
    } else {
      value = info as unknown as V;
    }
    if (isRefusal(value)) {
      const status = value.status;
      return refuse(
        c,
        {
          status,
          outcome: value.outcome ?? (status === 403 ? "forbidden" : "invalid_token"),
          error: value.error ?? (status === 403 ? "insufficient_scope" : "invalid_token"),
          message: value.message,
        },
        value.scope,
      );
    }
    options.onOutcome?.("ok", c);
    c.set("auth", value);
    await next();
  };
  return Object.assign(middleware as MiddlewareHandler<BearerEnv<V>>, { verifiedTokens });
}

const HMAC = /^HS(256|384|512)$/;

/** A key resolver answering the secret imported for the token's HMAC algorithm, once each. */
function hmacResolver(secret: Uint8Array): JWTVerifyGetKey {
  const imported = new Map<string, Promise<CryptoKey>>();
  return (header) => {
    const alg = header.alg ?? "";
    let k = imported.get(alg);
    if (!k) {
      k = crypto.subtle.importKey(
        "raw",
        secret as Uint8Array<ArrayBuffer>,
        { name: "HMAC", hash: `SHA-${alg.slice(2)}` },
        false,
        ["verify"],
      );
      // A failed import is not remembered: the next request tries again.
      k.catch(() => imported.delete(alg));
      imported.set(alg, k);
    }
    return k;
  };
}

function decodeHeader(segment: string): JWTHeaderParameters {
  const header: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(segment)));
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new TypeError("the token's header is not an object");
  }
  return header as JWTHeaderParameters;
}

function compactParts(token: string): FlattenedJWSInput {
  const [header = "", payload = "", signature = ""] = token.split(".");
  return { protected: header, payload, signature };
}

/** Marks an `authorize` result as a refusal. */
export function refusal(
  status: 401 | 403,
  message: string,
  extra: Omit<Refusal, "status" | "message"> = {},
): Refusal {
  return Object.assign(Object.create(REFUSAL), { status, message, ...extra }) as Refusal;
}

const REFUSAL = Object.freeze({ [Symbol.for("@authcache/hono/refusal")]: true });

function isRefusal(value: unknown): value is Refusal {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[Symbol.for("@authcache/hono/refusal")] === true
  );
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function toList(v: string | readonly string[]): string | string[] {
  return typeof v === "string" ? v : [...v];
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "Token has expired";
  if (error instanceof errors.JOSEAlgNotAllowed) return "Token algorithm is not allowed";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "Token signature is invalid";
  if (error instanceof errors.JWTClaimValidationFailed) {
    return `Token claim "${error.claim}" is invalid`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return "No key matches the token";
  return "Token is malformed";
}
