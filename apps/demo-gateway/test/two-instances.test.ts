/**
 * Two gateway processes sharing one database and Redis as L2 and bus. Their revocation polls
 * are set to 10 minutes, so only the bus can carry a change from one to the other.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startServer, type TestServer } from "@authcache/test-servers";
import { createJwtService } from "../src/jwt.ts";
import { ALICE, AUDIENCE, BOB, ISSUER, removeTempDirs, SECRET, tempDir } from "./helpers.ts";
import { type GatewayProcess, spawnGateway } from "./process.ts";

const MAX_STALE_MS = 1000;
const jwt = createJwtService({
  secret: SECRET,
  issuer: ISSUER,
  audience: AUDIENCE,
  ttlSeconds: 600,
});

let redis: TestServer;
let a: GatewayProcess;
let b: GatewayProcess;

beforeAll(async () => {
  redis = await startServer("redis");
  const env = {
    DATABASE_URL: `file:${join(tempDir(), "shared.db")}`,
    JWT_SECRET: SECRET,
    AUTH_CACHE_STORE: "redis",
    REDIS_URL: redis.url,
    MAX_STALE_MS: String(MAX_STALE_MS),
    REVOCATION_POLL_MS: "600000",
  };
  // One after the other: the first one migrates and seeds the shared database.
  a = await spawnGateway(env);
  b = await spawnGateway(env);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await redis?.stop();
  removeTempDirs();
});

async function me(gw: GatewayProcess, token: string) {
  const res = await fetch(`${gw.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function post(gw: GatewayProcess, path: string, token: string) {
  const res = await fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  return res.status;
}

describe("two gateway processes on one Redis", () => {
  test("both run with Redis as L2 and bus", async () => {
    for (const gw of [a, b]) {
      const health = (await (await fetch(`${gw.url}/healthz`)).json()) as {
        cache: { backend: string };
      };
      expect(health.cache.backend).toBe("redis L2 + redis bus");
    }
  });

  test("a token revoked through one is refused by the other within maxStaleMs", async () => {
    const minted = await jwt.mint(ALICE);
    // Warm B's L1 (twice: the second is an L1 hit), and A's.
    expect((await me(b, minted.token)).status).toBe(200);
    expect((await me(b, minted.token)).status).toBe(200);
    expect((await me(a, minted.token)).status).toBe(200);

    expect(await post(a, `/admin/tokens/${minted.jti}/revoke`, a.adminToken)).toBe(200);
    // The revoke has returned: from here B may serve its cache for at most maxStaleMs.
    await Bun.sleep(MAX_STALE_MS);
    const refused = await me(b, minted.token);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("Token has been revoked");
    expect((await me(a, minted.token)).status).toBe(401);
  });

  test("a user deactivated through one is refused by the other within maxStaleMs", async () => {
    const token = (await jwt.mint(BOB)).token;
    expect((await me(b, token)).status).toBe(200);
    expect((await me(b, token)).status).toBe(200);

    expect(await post(a, `/admin/users/${BOB}/deactivate`, a.adminToken)).toBe(200);
    await Bun.sleep(MAX_STALE_MS);
    const refused = await me(b, token);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("Account disabled");

    expect(await post(b, `/admin/users/${BOB}/activate`, b.adminToken)).toBe(200);
    await Bun.sleep(MAX_STALE_MS);
    expect((await me(a, token)).status).toBe(200);
  });

  test("neither process learned it from its revocation poll", async () => {
    for (const gw of [a, b]) {
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toMatch(/^gateway_revocation_sync_applied 0$/m);
      expect(metrics).toMatch(/^gateway_revocation_sync_polls 0$/m);
    }
  });
});
