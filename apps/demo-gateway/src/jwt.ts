/**
 * Bearer tokens: minted here (HS256, issuer and audience set, expiry, subject and jti), verified
 * by `@authcache/hono`'s bearer middleware from `verification`: HS256 pinned (every other
 * header refused, `alg: none` included), issuer and audience pinned, exp/sub/jti required.
 */
import { SignJWT } from "jose";

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
  /** Remember verified tokens (default: off); `loadConfig` turns it on. */
  readonly verifiedTokens?: { readonly maxEntries: number; readonly maxAgeSeconds: number } | false;
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

/** What a verifier needs (the bearer middleware of `@authcache/hono` takes these). */
export interface JwtVerification {
  readonly key: Uint8Array;
  readonly algorithms: readonly string[];
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceSeconds: number;
  readonly now: () => number;
  readonly verifiedTokens: { readonly maxEntries: number; readonly maxAgeSeconds: number } | false;
}

export interface JwtService {
  readonly verification: JwtVerification;
  mint(email: string, options?: MintOptions): Promise<MintedToken>;
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
      verifiedTokens: options.verifiedTokens ?? false,
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
  };
}
