/**
 * The gateway's 401/403 matrix, over real HTTP against two demo-gateway processes that share
 * one database and one Redis (L2 + invalidation log). Every refusal is checked on both
 * instances; every change made through one is checked on the other. Revocation polling is off
 * (10 minutes), so only the invalidation log can carry a change across.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TestServer } from "@authcache/test-servers";
import { sleep } from "../support/fleet.ts";
import { forgeJwt, type GatewayProcess, spawnGateway } from "../support/gateway-process.ts";

const SECRET = "scenario-secret-0123456789-0123456789-xyz";
const ISSUER = "authcache-demo";
const AUDIENCE = "authcache-demo-api";
const MAX_STALE_MS = 1000;
const ADMIN = "admin@example.com";
const ALICE = "alice@example.com";
const BOB = "bob@example.com";
const CAROL = "carol@example.com";

let server: TestServer;
let dir: string;
let a: GatewayProcess;
let b: GatewayProcess;
let jtiSeq = 0;
const propagation: string[] = [];

beforeAll(async () => {
  server = await startServer("redis");
  dir = mkdtempSync(join(tmpdir(), "authcache-scenarios-gw-"));
  const env = {
    DATABASE_URL: `file:${join(dir, "shared.db")}`,
    JWT_SECRET: SECRET,
    AUTH_CACHE_STORE: "redis",
    REDIS_URL: server.url,
    MAX_STALE_MS: String(MAX_STALE_MS),
    REVOCATION_POLL_MS: "600000",
  };
  // One after the other: the first migrates and seeds the shared database.
  a = await spawnGateway(env);
  b = await spawnGateway(env);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (propagation.length > 0) console.log(`gateway propagation (A → B): ${propagation.join("; ")}`);
});

interface Claims {
  sub?: string;
  jti?: string;
  iss?: string;
  aud?: string;
  exp?: number;
  iat?: number;
  teams?: unknown;
}

/** A valid token for `email` unless `override` says otherwise. */
function token(
  email: string,
  override: Claims = {},
  header: Record<string, unknown> = { alg: "HS256", typ: "JWT" },
  secret = SECRET,
): { token: string; jti: string } {
  const now = Math.floor(Date.now() / 1000);
  const jti = `scenario-${process.pid}-${++jtiSeq}`;
  const claims: Record<string, unknown> = {
    sub: email,
    jti,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
    ...override,
  };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  return { token: forgeJwt(header, claims, secret), jti: String(claims.jti) };
}

async function request(
  gw: GatewayProcess,
  method: string,
  path: string,
  auth: string | undefined,
  body?: unknown,
): Promise<{ status: number; error: unknown; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (auth !== undefined) headers.authorization = auth;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // metrics and empty bodies
  }
  return { status: res.status, error: json.error, body: json };
}

const bearer = (t: string) => `Bearer ${t}`;
const me = (gw: GatewayProcess, t: string) => request(gw, "GET", "/auth/me", bearer(t));

/** After a change made through A returned at `since`: how long until B refuses (bounded poll,
 *  for the report), then the guarantee itself: refused once maxStaleMs has passed. */
async function refusedOnB(
  label: string,
  since: number,
  probe: () => Promise<{ status: number; error: unknown }>,
  status: number,
  error: string,
): Promise<void> {
  let seen: number | undefined;
  for (let i = 0; i < 80 && Date.now() - since < MAX_STALE_MS; i++) {
    if ((await probe()).status === status) {
      seen = Date.now() - since;
      break;
    }
    await sleep(10);
  }
  propagation.push(`${label} ${seen === undefined ? "not yet" : `${seen} ms`}`);
  const wait = since + MAX_STALE_MS - Date.now();
  if (wait > 0) await sleep(wait);
  const res = await probe();
  expect(res.status).toBe(status);
  expect(res.error).toBe(error);
}

describe("401: who is calling cannot be established", () => {
  const t0 = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => string | undefined, string | RegExp][] = [
    ["no Authorization header", () => undefined, "Missing bearer token"],
    ["an empty bearer", () => "Bearer ", "Missing bearer token"],
    [
      "Basic credentials",
      () => `Basic ${Buffer.from("alice:pw").toString("base64")}`,
      "Missing bearer token",
    ],
    [
      "two tokens",
      () => `Bearer ${token(ALICE).token} ${token(ALICE).token}`,
      "Missing bearer token",
    ],
    ["garbage", () => "Bearer not.a.jwt", /malformed/i],
    [
      "a bad signature",
      () => bearer(token(ALICE, {}, undefined, `${SECRET}-other`).token),
      /signature/i,
    ],
    [
      "alg: none",
      () => bearer(token(ALICE, {}, { alg: "none", typ: "JWT" }).token),
      /algorithm|malformed/i,
    ],
    [
      "alg: HS512 with the right secret",
      () => bearer(token(ALICE, {}, { alg: "HS512", typ: "JWT" }).token),
      /algorithm/i,
    ],
    [
      "a tampered payload (sub changed to the admin)",
      () => {
        const [h, , s] = token(ALICE).token.split(".");
        const forged = token(ADMIN).token.split(".")[1];
        return bearer(`${h}.${forged}.${s}`);
      },
      /signature/i,
    ],
    ["the wrong audience", () => bearer(token(ALICE, { aud: "another-api" }).token), /aud/],
    ["the wrong issuer", () => bearer(token(ALICE, { iss: "someone-else" }).token), /iss/],
    [
      "an expired token",
      () => bearer(token(ALICE, { iat: t0() - 7200, exp: t0() - 3600 }).token),
      /expired/i,
    ],
    ["no expiry", () => bearer(token(ALICE, { exp: undefined }).token), /exp/],
    ["no jti", () => bearer(token(ALICE, { jti: undefined }).token), /jti/],
    ["no subject", () => bearer(token(ALICE, { sub: undefined }).token), /sub/],
    ["an empty subject", () => bearer(token(ALICE, { sub: "" }).token), /subject|sub/i],
    [
      "teams that are not a list",
      () => bearer(token(ALICE, { teams: "team-platform" }).token),
      /teams/,
    ],
    ["an unknown user", () => bearer(token("nobody@example.com").token), "Unknown user"],
  ];
  test.each(cases)("%s → 401 on both instances", async (_name, auth, error) => {
    const header = auth();
    for (const gw of [a, b]) {
      const res = await request(gw, "GET", "/auth/me", header);
      expect(res.status).toBe(401);
      if (typeof error === "string") expect(res.error).toBe(error);
      else expect(String(res.error)).toMatch(error);
    }
  });
});

describe("401 after a change made through the other instance", () => {
  test("a token revoked through A is refused by B (and by A)", async () => {
    const t = token(ALICE);
    expect((await me(b, t.token)).status).toBe(200);
    expect((await me(b, t.token)).status).toBe(200); // now an L1 hit on B
    expect((await me(a, t.token)).status).toBe(200);
    const res = await request(
      a,
      "POST",
      `/admin/tokens/${t.jti}/revoke`,
      bearer(token(ADMIN).token),
    );
    expect(res.status).toBe(200);
    await refusedOnB("revocation", Date.now(), () => me(b, t.token), 401, "Token has been revoked");
    expect((await me(a, t.token)).error).toBe("Token has been revoked");
  });

  test("token replay after logout: logged out on A, replayed on B (and on A)", async () => {
    const t = token(CAROL);
    expect((await me(b, t.token)).status).toBe(200);
    expect((await me(b, t.token)).status).toBe(200);
    const out = await request(a, "POST", "/auth/logout", bearer(t.token));
    expect(out.status).toBe(200);
    expect(out.body.jti).toBe(t.jti);
    await refusedOnB("logout", Date.now(), () => me(b, t.token), 401, "Token has been revoked");
    expect((await me(a, t.token)).error).toBe("Token has been revoked");
    // Logging out again with the dead token is refused too: it cannot be used for anything.
    expect((await request(b, "POST", "/auth/logout", bearer(t.token))).status).toBe(401);
    // The user's other tokens still work: logout revokes one token, not the account.
    expect((await me(b, token(CAROL).token)).status).toBe(200);
  });

  test("a user deactivated through A is refused by B, and let back in after activation", async () => {
    const t = token(BOB);
    expect((await me(b, t.token)).status).toBe(200);
    expect((await me(b, t.token)).status).toBe(200);
    const admin = bearer(token(ADMIN).token);
    expect((await request(a, "POST", `/admin/users/${BOB}/deactivate`, admin)).status).toBe(200);
    await refusedOnB("deactivation", Date.now(), () => me(b, t.token), 401, "Account disabled");
    // A fresh token of the same user does not get around it.
    expect((await me(b, token(BOB).token)).error).toBe("Account disabled");
    expect((await request(b, "POST", `/admin/users/${BOB}/activate`, admin)).status).toBe(200);
    await sleep(MAX_STALE_MS);
    expect((await me(a, t.token)).status).toBe(200);
  });
});

describe("403: authenticated, not allowed", () => {
  test("a non-member asking for a team role, on both instances", async () => {
    const t = bearer(token(BOB).token);
    for (const gw of [a, b]) {
      const res = await request(gw, "GET", "/teams/team-platform/role", t);
      expect(res.status).toBe(403);
      expect(String(res.error)).toContain("Not a member");
      expect((await request(gw, "GET", "/teams/team-research/role", t)).status).toBe(200);
    }
  });

  test("a non-admin on admin routes, on both instances", async () => {
    const t = bearer(token(ALICE).token);
    for (const gw of [a, b]) {
      for (const [method, path] of [
        ["POST", `/admin/users/${BOB}/deactivate`],
        ["POST", "/admin/tokens/some-jti/revoke"],
        ["POST", "/admin/tokens"],
      ] as const) {
        const res = await request(gw, method, path, t, {});
        expect(res.status).toBe(403);
        expect(res.error).toBe("Admin role required");
      }
    }
    // Nothing happened: BOB is still active.
    expect((await me(a, token(BOB).token)).status).toBe(200);
  });

  test("a plain member managing members, on both instances", async () => {
    const t = bearer(token(BOB).token); // member of team-research, not owner
    for (const gw of [a, b]) {
      const res = await request(gw, "POST", "/teams/team-research/members", t, {
        email: CAROL,
        role: "owner",
      });
      expect(res.status).toBe(403);
    }
  });

  test("a token scoped to one team asking about another", async () => {
    const t = bearer(token(ALICE, { teams: ["team-research"] }).token);
    for (const gw of [a, b]) {
      expect((await request(gw, "GET", "/teams/team-platform/role", t)).status).toBe(403);
      expect((await request(gw, "GET", "/teams/team-research/role", t)).status).toBe(200);
    }
  });

  test("a member removed through A: B refuses the role and the team-scoped token", async () => {
    const scoped = token(ALICE, { teams: ["team-platform"] });
    const plain = bearer(token(ALICE).token);
    expect((await request(b, "GET", "/teams/team-platform/role", plain)).status).toBe(200);
    expect((await me(b, scoped.token)).status).toBe(200);
    const admin = bearer(token(ADMIN).token);
    expect(
      (await request(a, "DELETE", `/teams/team-platform/members/${ALICE}`, admin)).status,
    ).toBe(200);
    const since = Date.now();
    await refusedOnB(
      "membership removal",
      since,
      () => me(b, scoped.token),
      403,
      "Token is scoped to a team the user no longer belongs to",
    );
    const role = await request(b, "GET", "/teams/team-platform/role", plain);
    expect(role.status).toBe(403);
    // Put things back as they were.
    expect(
      (
        await request(a, "POST", "/teams/team-platform/members", admin, {
          email: ALICE,
          role: "member",
        })
      ).status,
    ).toBe(201);
  });
});

describe("scoped tokens: one rule on every route, on both instances", () => {
  test("an admin token scoped to team-platform reaches no admin route and mints nothing", async () => {
    const scoped = bearer(token(ADMIN, { teams: ["team-platform"] }).token);
    for (const gw of [a, b]) {
      for (const [method, path, body] of [
        ["POST", "/admin/tokens", { email: ADMIN }],
        ["POST", "/admin/tokens", { email: ADMIN, teams: ["team-platform"] }],
        ["POST", "/admin/tokens/some-jti/revoke", undefined],
        ["POST", `/admin/users/${BOB}/deactivate`, undefined],
      ] as const) {
        const res = await request(gw, method, path, scoped, body);
        expect(res.status).toBe(403);
        expect(res.body.token).toBeUndefined();
      }
      // Inside its scope it still works.
      expect((await request(gw, "GET", "/teams/team-platform/role", scoped)).status).toBe(200);
    }
  });

  test("a token scoped to team-platform cannot add or change members of team-research", async () => {
    const scoped = bearer(token(ALICE, { teams: ["team-platform"] }).token); // alice owns research
    for (const gw of [a, b]) {
      const add = await request(gw, "POST", "/teams/team-research/members", scoped, {
        email: CAROL,
        role: "member",
      });
      expect(add.status).toBe(403);
      expect(add.error).toBe("Token is not scoped to team team-research");
      const patch = await request(gw, "PATCH", `/teams/team-research/members/${BOB}`, scoped, {
        role: "owner",
      });
      expect(patch.status).toBe(403);
    }
    const bobRole = await request(a, "GET", "/teams/team-research/role", bearer(token(BOB).token));
    expect(bobRole.body.role).toBe("member");
  });

  test("/mcp: no token is 401 with resource_metadata; another team's tool is 403", async () => {
    for (const gw of [a, b]) {
      const res = await fetch(`${gw.url}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain(
        `resource_metadata="${gw.url}/.well-known/oauth-protected-resource/mcp"`,
      );
      const scoped = token(ALICE, { teams: ["team-platform"] }).token;
      const call = await fetch(`${gw.url}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${scoped}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": "any",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "query_dataset", arguments: {} },
        }),
      });
      expect(call.status).toBe(403);
      expect(call.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    }
  });
});

test("both gateways ran on the shared Redis and learned every change from the log, not the poll", async () => {
  for (const gw of [a, b]) {
    const health = (await (await fetch(`${gw.url}/healthz`)).json()) as {
      cache: { backend: string };
    };
    expect(health.cache.backend).toContain("redis");
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/^gateway_revocation_sync_polls 0$/m);
  }
  expect(a.pid).not.toBe(b.pid);
});
