import { afterEach, describe, expect, test } from "bun:test";
import { type AuthCache, type AuthContext, createAuthCache } from "@authcache/core";
import { Hono } from "hono";
import { SignJWT } from "jose";
import {
  type AuthOutcome,
  BearerAuthConfigError,
  type BearerAuthInfo,
  type BearerEnv,
  bearerAuth,
  bearerChallenge,
  protectedResourceMetadata,
  protectedResourceMetadataPath,
  protectedResourceMetadataUrl,
  refusal,
} from "../src/index.ts";

interface User {
  readonly email: string;
  readonly isActive: boolean;
}

const SECRET = "hono-test-secret-0123456789-0123456789";
const METADATA = "https://api.example.test/.well-known/oauth-protected-resource/api";

const caches: AuthCache<User>[] = [];
afterEach(async () => {
  for (const c of caches.splice(0)) await c.close();
});

function setup(
  extra: { authorize?: (info: BearerAuthInfo<User>) => unknown; failLoads?: boolean } = {},
) {
  const users = new Map<string, User>([
    ["alice@example.com", { email: "alice@example.com", isActive: true }],
    ["bob@example.com", { email: "bob@example.com", isActive: true }],
  ]);
  const revoked = new Set<string>();
  const loads: string[] = [];
  const outcomes: AuthOutcome[] = [];
  const cache = createAuthCache<User>({});
  caches.push(cache);
  const app = new Hono<BearerEnv<BearerAuthInfo<User>>>();
  app.use(
    "/api/*",
    bearerAuth<User, BearerAuthInfo<User>>({
      key: SECRET,
      algorithms: ["HS256"],
      issuer: "test-issuer",
      audience: "test-api",
      cache,
      realm: "test",
      resourceMetadata: METADATA,
      loadContext(email, jti): AuthContext<User> {
        loads.push(`${email}/${jti}`);
        if (extra.failLoads) throw new Error("database down");
        return {
          user: users.get(email) ?? null,
          personalTeamId: null,
          isTokenRevoked: jti !== null && revoked.has(jti),
        };
      },
      ...(extra.authorize
        ? { authorize: (info: BearerAuthInfo<User>) => extra.authorize?.(info) as never }
        : {}),
      onOutcome: (o) => outcomes.push(o),
    }),
  );
  app.get("/api/me", (c) => {
    const auth = c.var.auth;
    return c.json({ subject: auth.subject, jti: auth.jti, scopes: auth.scopes, user: auth.user });
  });
  return { app, cache, users, revoked, loads, outcomes };
}

async function sign(
  claims: Record<string, unknown> = {},
  options: { alg?: string; secret?: string; sub?: string; jti?: string | null; exp?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? "HS256" })
    .setSubject(options.sub ?? "alice@example.com")
    .setIssuer("test-issuer")
    .setAudience("test-api")
    .setIssuedAt(now)
    .setExpirationTime(options.exp ?? now + 600);
  if (options.jti !== null) jwt = jwt.setJti(options.jti ?? crypto.randomUUID());
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const get = (app: { request: Hono["request"] }, token?: string, header?: string) =>
  app.request("/api/me", {
    headers: header ? { authorization: header } : token ? { authorization: `Bearer ${token}` } : {},
  });

describe("bearerAuth", () => {
  test("no credentials: 401, challenge without an error code, with resource_metadata", async () => {
    const { app, outcomes } = setup();
    const res = await get(app);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer realm="test", resource_metadata="${METADATA}"`,
    );
    expect(await res.json()).toEqual({
      error: "unavailable",
      error_description: "Missing bearer token",
    });
    expect(outcomes).toEqual(["missing_token"]);
  });

  test("a valid token: 200 with the caller; the second request is served by the cache", async () => {
    const { app, loads } = setup();
    const token = await sign({ scope: "read write" }, { jti: "t-1" });
    for (let i = 0; i < 3; i++) {
      const res = await get(app, token);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        subject: "alice@example.com",
        jti: "t-1",
        scopes: ["read", "write"],
        user: { email: "alice@example.com", isActive: true },
      });
    }
    expect(loads).toEqual(["alice@example.com/t-1"]);
  });

  const refusals: [string, () => Promise<string>, RegExp][] = [
    [
      "alg none",
      async () => {
        const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
        const now = Math.floor(Date.now() / 1000);
        return `${b64({ alg: "none" })}.${b64({ sub: "alice@example.com", jti: "x", iss: "test-issuer", aud: "test-api", exp: now + 60 })}.`;
      },
      /algorithm|malformed/,
    ],
    [
      "HS512 with the right secret (algorithm not pinned)",
      () => sign({}, { alg: "HS512" }),
      /algorithm/,
    ],
    ["a wrong secret", () => sign({}, { secret: `${SECRET}-other` }), /signature/],
    ["expired", () => sign({}, { exp: Math.floor(Date.now() / 1000) - 10 }), /expired/],
    ["no jti", () => sign({}, { jti: null }), /jti/],
    ["an empty subject", () => sign({}, { sub: "" }), /subject/],
  ];
  test.each(refusals)("%s: 401 invalid_token", async (_name, make, message) => {
    const { app, loads } = setup();
    const res = await get(app, await make());
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain('error="invalid_token"');
    expect(challenge).toContain(`resource_metadata="${METADATA}"`);
    expect(((await res.json()) as { error_description: string }).error_description).toMatch(
      message,
    );
    expect(loads).toEqual([]);
  });

  test("a malformed header (two tokens, Basic) counts as no bearer token", async () => {
    const { app } = setup();
    const t = await sign();
    for (const header of [`Bearer ${t} ${t}`, "Basic YWxpY2U6cHc=", "Bearer "]) {
      const res = await get(app, undefined, header);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).not.toContain("error=");
    }
  });

  test("revoked through the cache: the next request is 401 even though the context was cached", async () => {
    const { app, cache } = setup();
    const token = await sign({}, { jti: "t-rev" });
    expect((await get(app, token)).status).toBe(200);
    await cache.invalidateRevocation("t-rev");
    const res = await get(app, token);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain(
      'error_description="Token has been revoked"',
    );
  });

  test("an L1 hit is answered by getAuthContextSync (revocation checked there); a cache without it still works", async () => {
    const users = new Map([["alice@example.com", { email: "alice@example.com", isActive: true }]]);
    const core = createAuthCache<User>({});
    caches.push(core);
    const calls: string[] = [];
    const withSync = {
      getAuthContextSync: (email: string, jti?: string | null) => {
        const ctx = core.getAuthContextSync(email, jti);
        calls.push(`sync:${ctx === undefined ? "miss" : ctx.isTokenRevoked ? "revoked" : "hit"}`);
        return ctx;
      },
      resolveAuthContext: ((email, jti, loader) => {
        calls.push("resolve");
        return core.resolveAuthContext(email, jti, loader);
      }) as AuthCache<User>["resolveAuthContext"],
    };
    const withoutSync = { resolveAuthContext: withSync.resolveAuthContext };
    for (const [name, cache] of [
      ["with", withSync],
      ["without", withoutSync],
    ] as const) {
      calls.length = 0;
      const app = new Hono<BearerEnv<BearerAuthInfo<User>>>();
      app.use(
        "/api/*",
        bearerAuth<User>({
          key: SECRET,
          algorithms: ["HS256"],
          issuer: "test-issuer",
          audience: "test-api",
          cache,
          loadContext: (email) => ({
            user: users.get(email) ?? null,
            personalTeamId: null,
            isTokenRevoked: false,
          }),
        }),
      );
      app.get("/api/me", (c) => c.json({ subject: c.var.auth.subject }));
      const jti = `t-${name}`;
      const token = await sign({}, { jti });
      expect((await get(app, token)).status).toBe(200);
      expect((await get(app, token)).status).toBe(200);
      await core.invalidateRevocation(jti);
      const res = await get(app, token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain(
        'error_description="Token has been revoked"',
      );
      expect(calls).toEqual(
        name === "with"
          ? ["sync:miss", "resolve", "sync:hit", "sync:revoked"]
          : ["resolve", "resolve", "resolve"],
      );
    }
  });

  test("unknown user and deactivated account: 401", async () => {
    const { app, cache, users } = setup();
    expect((await get(app, await sign({}, { sub: "nobody@example.com" }))).status).toBe(401);
    const token = await sign({}, { sub: "bob@example.com" });
    expect((await get(app, token)).status).toBe(200);
    users.set("bob@example.com", { email: "bob@example.com", isActive: false });
    await cache.invalidateUser("bob@example.com");
    const res = await get(app, token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error_description: string }).error_description).toBe(
      "Account disabled",
    );
  });

  test("an authorize refusal: 403 insufficient_scope with the scope; its value reaches c.var.auth", async () => {
    const { app, outcomes } = setup({
      authorize: (info) =>
        info.subject === "bob@example.com"
          ? refusal(403, "Not in team x", { scope: "team:x" })
          : { ...info, scopes: ["granted"] },
    });
    const denied = await get(app, await sign({}, { sub: "bob@example.com" }));
    expect(denied.status).toBe(403);
    expect(denied.headers.get("www-authenticate")).toBe(
      `Bearer realm="test", error="insufficient_scope", error_description="Not in team x", scope="team:x", resource_metadata="${METADATA}"`,
    );
    const ok = await get(app, await sign());
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { scopes: string[] }).scopes).toEqual(["granted"]);
    expect(outcomes).toEqual(["forbidden", "ok"]);
  });

  test("the loader fails: 503, fail closed, no challenge", async () => {
    const { app, outcomes } = setup({ failLoads: true });
    const res = await get(app, await sign());
    expect(res.status).toBe(503);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(outcomes).toEqual(["backend_error"]);
  });

  test("unsafe options are refused at construction", () => {
    const base = {
      key: SECRET,
      cache: createAuthCache<User>({}),
      loadContext: () => ({ user: null, personalTeamId: null, isTokenRevoked: false }),
    };
    caches.push(base.cache);
    expect(() => bearerAuth<User>({ ...base, algorithms: [] })).toThrow(BearerAuthConfigError);
    expect(() => bearerAuth<User>({ ...base, algorithms: ["HS256", "none"] })).toThrow(/none/);
  });
});

describe("RFC 9728 metadata and challenges", () => {
  test("metadata path and URL follow the resource's path", () => {
    expect(protectedResourceMetadataPath("https://h.test/mcp")).toBe(
      "/.well-known/oauth-protected-resource/mcp",
    );
    expect(protectedResourceMetadataPath("https://h.test/")).toBe(
      "/.well-known/oauth-protected-resource",
    );
    expect(protectedResourceMetadataUrl("http://127.0.0.1:8787/mcp")).toBe(
      "http://127.0.0.1:8787/.well-known/oauth-protected-resource/mcp",
    );
  });

  test("the handler serves the document with bearer_methods_supported", async () => {
    const app = new Hono();
    app.get(
      "/.well-known/oauth-protected-resource",
      protectedResourceMetadata({
        resource: "https://h.test/mcp",
        authorization_servers: ["https://as.test"],
      }),
    );
    const res = await app.request("/.well-known/oauth-protected-resource");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      bearer_methods_supported: ["header"],
      resource: "https://h.test/mcp",
      authorization_servers: ["https://as.test"],
    });
  });

  test("challenge values never carry a quote, a backslash or a control character", () => {
    expect(bearerChallenge({ error: "invalid_token", errorDescription: 'bad "x"\\\n' })).toBe(
      'Bearer error="invalid_token", error_description="bad ?x???"',
    );
    expect(bearerChallenge({})).toBe("Bearer");
  });
});
