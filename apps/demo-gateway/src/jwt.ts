/**
 * Bearer tokens: HS256 only, issuer and audience pinned, expiry, subject and jti required.
 * `jwtVerify` with `algorithms: ["HS256"]` refuses every other header, `alg: none` included.
 */
import { errors, jwtVerify, SignJWT } from "jose";

export interface JwtOptions {
  readonly secret: string;
  readonly issuer: string;
  readonly audience: string;
  /** Lifetime of minted tokens, in seconds. */
  readonly ttlSeconds: number;
  /** Clock skew tolerated on `exp`/`nbf`, in seconds (default 0). */
  readonly clockToleranceSeconds?: number;
  /** Clock for tests (epoch ms). */
  readonly now?: () => number;
}

export interface TokenClaims {
  readonly email: string;
  readonly jti: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  /** Teams the token is scoped to (API tokens), or undefined for the user's own teams. */
  readonly teams?: readonly string[];
}

export interface MintOptions {
  readonly jti?: string;
  readonly ttlSeconds?: number;
  readonly teams?: readonly string[];
}

export interface MintedToken {
  readonly token: string;
  readonly jti: string;
  readonly expiresAt: number;
}

/** Why verification failed, for the 401 message (never the token itself). */
export class TokenError extends Error {
  override readonly name = "TokenError";
}

/** What a verifier needs (the bearer middleware of `@authcache/hono` takes these). */
export interface JwtVerification {
  readonly key: Uint8Array;
  readonly algorithms: readonly string[];
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceSeconds: number;
  readonly now: () => number;
}

export interface JwtService {
  readonly verification: JwtVerification;
  mint(email: string, options?: MintOptions): Promise<MintedToken>;
  /** Resolves the claims, or rejects with `TokenError`. */
  verify(token: string): Promise<TokenClaims>;
}

export const ALGORITHM = "HS256";

export function createJwtService(options: JwtOptions): JwtService {
  const key = new TextEncoder().encode(options.secret);
  const now = options.now ?? Date.now;

  return {
    verification: {
      key,
      algorithms: [ALGORITHM],
      issuer: options.issuer,
      audience: options.audience,
      clockToleranceSeconds: options.clockToleranceSeconds ?? 0,
      now,
    },
    async mint(email, mintOptions = {}) {
      const jti = mintOptions.jti ?? crypto.randomUUID();
      const issuedAt = Math.floor(now() / 1000);
      const exp = issuedAt + (mintOptions.ttlSeconds ?? options.ttlSeconds);
      const claims: Record<string, unknown> = {};
      if (mintOptions.teams) claims.teams = [...mintOptions.teams];
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
        .setSubject(email)
        .setJti(jti)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(exp)
        .sign(key);
      return { token, jti, expiresAt: exp * 1000 };
    },

    async verify(token) {
      let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
      try {
        ({ payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          issuer: options.issuer,
          audience: options.audience,
          requiredClaims: ["exp", "sub", "jti"],
          clockTolerance: options.clockToleranceSeconds ?? 0,
          currentDate: new Date(now()),
        }));
      } catch (error) {
        throw new TokenError(describe(error), { cause: error });
      }
      const { sub, jti, exp, teams } = payload;
      if (typeof sub !== "string" || sub === "" || typeof jti !== "string" || jti === "") {
        throw new TokenError("Token subject or id is empty");
      }
      if (teams !== undefined && !isStringArray(teams)) {
        throw new TokenError('Token claim "teams" must be an array of team ids');
      }
      return {
        email: sub,
        jti,
        expiresAt: (exp ?? 0) * 1000,
        ...(teams ? { teams } : {}),
      };
    },
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "Token has expired";
  if (error instanceof errors.JOSEAlgNotAllowed) return "Token algorithm is not allowed";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "Token signature is invalid";
  if (error instanceof errors.JWTClaimValidationFailed) {
    return `Token claim "${error.claim}" is invalid`;
  }
  return "Token is malformed";
}
