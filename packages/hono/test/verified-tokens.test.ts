/**
 * `bearerAuth({ verifiedTokens })`: a verified token is remembered by its digest and skips the
 * signature check, but revocation and the account still come through the AuthCache on every
 * request; a key rotation forgets every token; an expired token is refused even if remembered;
 * the cache stays within `maxEntries`.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { type AuthCache, type AuthContext, createAuthCache } from "@authcache/core";
import { Hono } from "hono";
import {
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTVerifyGetKey,
  SignJWT,
} from "jose";
import {
  type BearerAuthInfo,
  type BearerAuthOptions,
  type BearerEnv,
  bearerAuth,
  createVerifiedTokens,
  VerifiedTokenCacheConfigError,
} from "../src/index.ts";

interface User {
  readonly email: string;
  readonly isActive: boolean;
}

const SECRET = "verified-tokens-secret-0123456789-0123456789";
const ALICE = "alice@example.com";

const caches: AuthCache<User>[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.close();
});

function setup(extra: Partial<BearerAuthOptions<User>> = {}) {
  const users = new Map<string, User>([[ALICE, { email: ALICE, isActive: true }]]);
  const revoked = new Set<string>();
  const loads: string[] = [];
  const cache = createAuthCache<User>({});
  caches.push(cache);
  const middleware = bearerAuth<User>({
    key: SECRET,
    algorithms: ["HS256"],
    issuer: "test-issuer",
    audience: "test-api",
    cache,
    loadContext(email, jti): AuthContext<User> {
      loads.push(`${email}/${jti}`);
      return {
        user: users.get(email) ?? null,
        personalTeamId: null,
        isTokenRevoked: jti !== null && revoked.has(jti),
      };
    },
    verifiedTokens: true,
    ...extra,
  });
  const app = new Hono<BearerEnv<BearerAuthInfo<User>>>();
  app.use("/api/*", middleware);
  app.get("/api/me", (c) => c.json({ subject: c.var.auth.subject, jti: c.var.auth.jti }));
  const tokens = middleware.verifiedTokens;
  if (!tokens) throw new Error("verifiedTokens is on: the middleware must expose its cache");
  return { app, cache, users, revoked, loads, tokens };
}

async function sign(
  options: {
    jti?: string;
    exp?: number;
    iat?: number;
    key?: Uint8Array | CryptoKey;
    alg?: string;
    kid?: string;
  } = {},
): Promise<string> {
  const iat = options.iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({
      alg: options.alg ?? "HS256",
      ...(options.kid ? { kid: options.kid } : {}),
    })
    .setSubject(ALICE)
    .setIssuer("test-issuer")
    .setAudience("test-api")
    .setIssuedAt(iat)
    .setJti(options.jti ?? crypto.randomUUID())
    .setExpirationTime(options.exp ?? iat + 600)
    .sign(options.key ?? new TextEncoder().encode(SECRET));
}

const get = async (app: Hono<BearerEnv<BearerAuthInfo<User>>>, token: string) => {
  const res = await app.request("/api/me", { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, body };
};

describe("verified tokens", () => {
  test("a token seen again skips verification; a bad signature is never remembered", async () => {
    const { app, tokens } = setup();
    const token = await sign({ jti: "t-1" });
    for (let i = 0; i < 3; i++) expect((await get(app, token)).status).toBe(200);
    expect(tokens.size).toBe(1);
    expect(tokens.stats()).toEqual({ hits: 2, misses: 1, clears: 0 });

    // The same header and payload with another signature is another digest: verified, refused.
    const [h, p] = token.split(".");
    const forged = `${h}.${p}.${"A".repeat(43)}`;
    const refused = await get(app, forged);
    expect(refused.status).toBe(401);
    expect(refused.body.error_description).toBe("Token signature is invalid");
    expect(tokens.size).toBe(1);
  });

  test("a remembered token is recognised in any accepted form of the header, and only those", async () => {
    const { app, tokens } = setup();
    const token = await sign({ jti: "t-forms" });
    const request = async (authorization: string) => {
      const res = await app.request("/api/me", { headers: { authorization } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect((await request(`Bearer ${token}`)).status).toBe(200);
    expect(tokens.stats()).toEqual({ hits: 0, misses: 1, clears: 0 });
    // The usual form: recognised by its digest (one hit, nothing verified again).
    expect((await request(`Bearer ${token}`)).status).toBe(200);
    expect(tokens.stats()).toEqual({ hits: 1, misses: 1, clears: 0 });
    // The other forms the pattern accepts reach the same entry through it.
    for (const form of [`bearer ${token}`, `Bearer  ${token}`, `Bearer ${token}  `]) {
      expect((await request(form)).status).toBe(200);
    }
    expect(tokens.stats().hits).toBe(4);
    expect(tokens.size).toBe(1);
    // Forms it refuses stay refused although the token inside is remembered.
    for (const form of [`Bearer ${token} ${token}`, `Bearer ${token},x`, `Basic ${token}`]) {
      const res = await request(form);
      expect(res.status).toBe(401);
      expect(res.body.error_description).toBe("Missing bearer token");
    }
    // One more character is another token: verified, and refused.
    const longer = await request(`Bearer ${token}A`);
    expect(longer.status).toBe(401);
    expect(longer.body.error_description).toBe("Token signature is invalid");
    expect(tokens.size).toBe(1);
  });

  test("remembered by a digest of the token, not the token", () => {
    const tokens = createVerifiedTokens();
    const digest = tokens.digest("a.b.c");
    expect(digest).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(digest).not.toContain("a.b.c");
    expect(tokens.digest("a.b.c")).toBe(digest);
    expect(tokens.digest("a.b.d")).not.toBe(digest);
  });

  test("the cache on its own: claims frozen (later requests share them), key identity, exp", () => {
    const tokens = createVerifiedTokens({ maxEntries: 2 });
    const key = {};
    const now = 1_000_000;
    tokens.set("d1", { claims: { sub: ALICE, exp: 1_060, teams: ["t"] }, key }, now);
    const entry = tokens.get("d1", now + 1, key);
    expect(Object.isFrozen(entry?.claims)).toBe(true);
    expect(Object.isFrozen(entry?.claims.teams)).toBe(true);
    expect(tokens.get("d1", 1_060_000, key)).toBeUndefined(); // at exp
    tokens.set("d2", { claims: { sub: ALICE, exp: 2_000 }, key }, now);
    tokens.set("d3", { claims: { sub: ALICE }, key }, now); // no exp: not remembered
    expect(tokens.size).toBe(1);
    expect(tokens.get("d2", now, {})).toBeUndefined(); // another key: all forgotten
    expect(tokens.size).toBe(0);
    expect(tokens.stats()).toEqual({ hits: 1, misses: 2, clears: 1 });
  });

  test("a remembered verification still sees a revocation, and a deactivation, on the next request", async () => {
    const { app, cache, users, revoked, tokens } = setup();
    const token = await sign({ jti: "t-revoke" });
    expect((await get(app, token)).status).toBe(200);
    expect((await get(app, token)).status).toBe(200);
    const hitsBefore = tokens.stats().hits;

    revoked.add("t-revoke");
    await cache.invalidateRevocation("t-revoke");
    const res = await get(app, token);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toBe("Token has been revoked");
    // It was refused although its verification was remembered.
    expect(tokens.stats().hits).toBe(hitsBefore + 1);

    const other = await sign({ jti: "t-disable" });
    expect((await get(app, other)).status).toBe(200);
    expect((await get(app, other)).status).toBe(200);
    users.set(ALICE, { email: ALICE, isActive: false });
    await cache.invalidateUser(ALICE);
    const disabled = await get(app, other);
    expect(disabled.status).toBe(401);
    expect(disabled.body.error_description).toBe("Account disabled");
  });

  test("an expired token is refused even though it is remembered; maxAgeSeconds caps the memory", async () => {
    let now = Date.now();
    const { app, tokens } = setup({ now: () => now, verifiedTokens: { maxAgeSeconds: 30 } });
    const iat = Math.floor(now / 1000);
    const token = await sign({ iat, exp: iat + 60 });
    expect((await get(app, token)).status).toBe(200);
    expect((await get(app, token)).status).toBe(200);
    expect(tokens.stats().hits).toBe(1);

    // Past the cap, before exp: verified again (a miss), still valid.
    now += 31_000;
    expect((await get(app, token)).status).toBe(200);
    expect(tokens.stats()).toMatchObject({ hits: 1, misses: 2 });

    // Past exp: the entry is not used and jose refuses it.
    now += 30_000;
    const res = await get(app, token);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toBe("Token has expired");
    expect(tokens.size).toBe(0);
  });

  test("the entry ends at exp even with a longer cap", async () => {
    let now = Date.now();
    const { app, tokens } = setup({ now: () => now, verifiedTokens: { maxAgeSeconds: 3600 } });
    const iat = Math.floor(now / 1000);
    const token = await sign({ iat, exp: iat + 5 });
    expect((await get(app, token)).status).toBe(200);
    now = (iat + 5) * 1000; // exp itself: no longer valid
    const res = await get(app, token);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toBe("Token has expired");
    expect(tokens.stats().hits).toBe(0);
  });

  test("bounded: never more than maxEntries, the oldest verification goes first", async () => {
    const { app, tokens } = setup({ verifiedTokens: { maxEntries: 3 } });
    const all: string[] = [];
    for (let i = 0; i < 10; i++) {
      const token = await sign();
      all.push(token);
      expect((await get(app, token)).status).toBe(200);
      expect(tokens.size).toBeLessThanOrEqual(3);
    }
    expect(tokens.size).toBe(3);
    const before = tokens.stats();
    expect((await get(app, all[9] as string)).status).toBe(200); // newest: remembered
    expect((await get(app, all[0] as string)).status).toBe(200); // oldest: pushed out
    expect(tokens.stats()).toMatchObject({ hits: before.hits + 1, misses: before.misses + 1 });
    expect(tokens.size).toBe(3);
  });

  test("a rotated key (a resolver answering another key) forgets every remembered token", async () => {
    const keyA = new TextEncoder().encode("key-A-0123456789-0123456789-0123456789");
    const keyB = new TextEncoder().encode("key-B-0123456789-0123456789-0123456789");
    let current = keyA;
    const resolver: JWTVerifyGetKey = async () => current;
    const { app, tokens } = setup({ key: resolver });
    const oldToken = await sign({ key: keyA });
    const second = await sign({ key: keyA });
    expect((await get(app, oldToken)).status).toBe(200);
    expect((await get(app, second)).status).toBe(200);
    expect((await get(app, oldToken)).status).toBe(200);
    expect(tokens.stats()).toMatchObject({ hits: 1, clears: 0 });
    expect(tokens.size).toBe(2);

    current = keyB;
    const res = await get(app, oldToken);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toBe("Token signature is invalid");
    expect(tokens.stats().clears).toBe(1);
    expect(tokens.size).toBe(0);
    expect((await get(app, second)).status).toBe(401);
    expect((await get(app, await sign({ key: keyB }))).status).toBe(200);
  });

  describe("with a remote JWKS (jose's createRemoteJWKSet on a loopback server)", () => {
    let served: { keys: JWK[] } = { keys: [] };
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => Response.json(served),
    });
    afterAll(() => server.stop(true));

    test("a reloaded key set without the old key forgets its tokens", async () => {
      const a = await generateKeyPair("ES256");
      const b = await generateKeyPair("ES256");
      served = { keys: [{ ...(await exportJWK(a.publicKey)), kid: "a", alg: "ES256" }] };
      const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${server.port}/jwks`));
      const { app, tokens } = setup({ key: jwks, algorithms: ["ES256"] });
      const token = await sign({ key: a.privateKey, alg: "ES256", kid: "a" });
      expect((await get(app, token)).status).toBe(200);
      expect((await get(app, token)).status).toBe(200);
      expect(tokens.stats()).toMatchObject({ hits: 1, clears: 0 });

      served = { keys: [{ ...(await exportJWK(b.publicKey)), kid: "b", alg: "ES256" }] };
      await jwks.reload();
      const res = await get(app, token);
      expect(res.status).toBe(401);
      expect(res.body.error_description).toBe("No key matches the token");
      expect(tokens.stats().clears).toBe(1);
      const fresh = await sign({ key: b.privateKey, alg: "ES256", kid: "b" });
      expect((await get(app, fresh)).status).toBe(200);
      expect((await get(app, fresh)).status).toBe(200);
      expect(tokens.stats().hits).toBe(2); // one before the rotation, one after
    });
  });

  test("a token longer than maxTokenLength is refused before it is hashed, verified or remembered", async () => {
    const { app, tokens, loads } = setup({ maxTokenLength: 512 });
    const iat = Math.floor(Date.now() / 1000);
    const long = await new SignJWT({ pad: "x".repeat(600) })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(ALICE)
      .setIssuer("test-issuer")
      .setAudience("test-api")
      .setIssuedAt(iat)
      .setJti("t-long")
      .setExpirationTime(iat + 600)
      .sign(new TextEncoder().encode(SECRET));
    expect(long.length).toBeGreaterThan(512);
    for (let i = 0; i < 2; i++) {
      const res = await get(app, long);
      expect(res.status).toBe(401);
      expect(res.body.error_description).toBe("Token is too long");
    }
    // Never looked up (no miss counted), never remembered, never reached the cache or loader.
    expect(tokens.stats()).toEqual({ hits: 0, misses: 0, clears: 0 });
    expect(tokens.size).toBe(0);
    expect(loads).toEqual([]);
    expect((await get(app, await sign())).status).toBe(200);

    // The default bound (8192 characters) holds without options; a huge header is not parsed.
    const dflt = setup();
    const huge = `${long}${"A".repeat(9000)}`;
    const res = await get(dflt.app, huge);
    expect(res.status).toBe(401);
    expect(res.body.error_description).toBe("Token is too long");
    expect(dflt.tokens.stats().misses).toBe(0);
  });

  test("maxTokenLength is inclusive on both lookups: a token of exactly that length is verified, remembered and found by its digest; one character over is refused every time", async () => {
    const token = await sign({ jti: "t-edge" });
    // "Bearer " + token: the header is exactly maxTokenLength + 7 characters.
    const atLimit = setup({ maxTokenLength: token.length });
    for (let i = 0; i < 3; i++) expect((await get(atLimit.app, token)).status).toBe(200);
    expect(atLimit.tokens.stats()).toEqual({ hits: 2, misses: 1, clears: 0 });
    expect(atLimit.loads.length).toBe(1);

    const under = setup({ maxTokenLength: token.length - 1 });
    for (let i = 0; i < 2; i++) {
      const res = await get(under.app, token);
      expect(res.status).toBe(401);
      expect(res.body.error_description).toBe("Token is too long");
    }
    expect(under.tokens.stats()).toEqual({ hits: 0, misses: 0, clears: 0 });
    expect(under.tokens.size).toBe(0);
    expect(under.loads).toEqual([]);
    // Another spacing of the same header takes the pattern path: the same bound holds there.
    const spaced = await under.app.request("/api/me", {
      headers: { authorization: `Bearer  ${token}` },
    });
    expect(spaced.status).toBe(401);
  });

  test("off by default; bad sizes are refused at construction, naming the field", () => {
    const cache = createAuthCache<User>({});
    caches.push(cache);
    const base = {
      key: SECRET,
      algorithms: ["HS256"],
      cache,
      loadContext: () => ({ user: null, personalTeamId: null, isTokenRevoked: false }),
    };
    expect(bearerAuth<User>(base).verifiedTokens).toBeUndefined();
    expect(() => bearerAuth<User>({ ...base, verifiedTokens: { maxEntries: 0 } })).toThrow(
      VerifiedTokenCacheConfigError,
    );
    expect(() => bearerAuth<User>({ ...base, verifiedTokens: { maxEntries: 0 } })).toThrow(
      /maxEntries/,
    );
    expect(() => bearerAuth<User>({ ...base, verifiedTokens: { maxAgeSeconds: -1 } })).toThrow(
      /maxAgeSeconds/,
    );
    for (const maxTokenLength of [0, -5, 1.5, Number.NaN]) {
      expect(() => bearerAuth<User>({ ...base, maxTokenLength })).toThrow(/maxTokenLength/);
    }
  });
});
