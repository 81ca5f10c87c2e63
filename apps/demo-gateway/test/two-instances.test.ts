/**
 * Two gateway processes sharing one database and one L2 + bus (Redis, Valkey, or a libSQL
 * file). Their revocation polls are set to 10 minutes, so only the bus can carry a change from
 * one to the other.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startServer, type TestServer } from "@authcache/test-servers";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createJwtService } from "../src/jwt.ts";
import { ALICE, AUDIENCE, BOB, CAROL, ISSUER, removeTempDirs, SECRET, tempDir } from "./helpers.ts";
import { type GatewayProcess, spawnGateway } from "./process.ts";

const MAX_STALE_MS = 1000;
const jwt = createJwtService({
  secret: SECRET,
  issuer: ISSUER,
  audience: AUDIENCE,
  ttlSeconds: 600,
});

afterAll(removeTempDirs);

async function me(gw: GatewayProcess, token: string) {
  const res = await fetch(`${gw.url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function send(gw: GatewayProcess, method: string, path: string, token: string) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  return res.status;
}

interface Backend {
  /** Starts what the backend needs; returns the env naming it and a stop function. */
  start(): Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
  readonly description: string;
}

const backends: Record<string, Backend> = {
  redis: {
    description: "redis L2 + redis bus",
    async start() {
      const server: TestServer = await startServer("redis");
      return {
        env: { AUTH_CACHE_STORE: "redis", REDIS_URL: server.url },
        stop: () => server.stop(),
      };
    },
  },
  valkey: {
    description: "valkey L2 + valkey bus",
    async start() {
      const server: TestServer = await startServer("valkey");
      return {
        env: { AUTH_CACHE_STORE: "valkey", VALKEY_URL: server.url },
        stop: () => server.stop(),
      };
    },
  },
  libsql: {
    description: "libsql L2 + libsql bus",
    async start() {
      return {
        env: {
          AUTH_CACHE_STORE: "libsql",
          LIBSQL_CACHE_URL: `file:${join(tempDir(), "cache.db")}`,
        },
        stop: async () => {},
      };
    },
  },
};

for (const [name, backend] of Object.entries(backends)) {
  describe(`two gateway processes on ${name}`, () => {
    let a: GatewayProcess;
    let b: GatewayProcess;
    let stopBackend: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const started = await backend.start();
      stopBackend = started.stop;
      const env = {
        DATABASE_URL: `file:${join(tempDir(), "shared.db")}`,
        JWT_SECRET: SECRET,
        MAX_STALE_MS: String(MAX_STALE_MS),
        REVOCATION_POLL_MS: "600000",
        ...started.env,
      };
      // One after the other: the first one migrates and seeds the shared database.
      a = await spawnGateway(env);
      b = await spawnGateway(env);
    }, 60_000);

    afterAll(async () => {
      await a?.stop();
      await b?.stop();
      await stopBackend?.();
    });

    test("both run on the shared L2 and bus", async () => {
      for (const gw of [a, b]) {
        const health = (await (await fetch(`${gw.url}/healthz`)).json()) as {
          cache: { backend: string };
        };
        expect(health.cache.backend).toBe(backend.description);
      }
    });

    test("a token revoked through one is refused by the other within maxStaleMs", async () => {
      const minted = await jwt.mint(ALICE);
      // Warm B's L1 (twice: the second is an L1 hit), and A's.
      expect((await me(b, minted.token)).status).toBe(200);
      expect((await me(b, minted.token)).status).toBe(200);
      expect((await me(a, minted.token)).status).toBe(200);

      expect(await send(a, "POST", `/admin/tokens/${minted.jti}/revoke`, a.adminToken)).toBe(200);
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

      expect(await send(a, "POST", `/admin/users/${BOB}/deactivate`, a.adminToken)).toBe(200);
      await Bun.sleep(MAX_STALE_MS);
      const refused = await me(b, token);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe("Account disabled");

      expect(await send(b, "POST", `/admin/users/${BOB}/activate`, b.adminToken)).toBe(200);
      await Bun.sleep(MAX_STALE_MS);
      expect((await me(a, token)).status).toBe(200);
    });

    test("an open MCP session on the other: a removed member's tool call and a revoked token's are refused within maxStaleMs", async () => {
      const open = async (token: string) => {
        const client = new Client({ name: "two-instances", version: "1.0.0" });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${b.url}/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          }),
        );
        return client;
      };
      const refusal = (call: Promise<unknown>) =>
        call.then(
          () => undefined,
          (e: unknown) => (e instanceof StreamableHTTPError ? e.code : String(e)),
        );

      const bob = await open((await jwt.mint(BOB)).token);
      const query = () => bob.callTool({ name: "query_dataset", arguments: { limit: 1 } });
      expect((await query()).isError).toBeUndefined();
      expect((await query()).isError).toBeUndefined(); // cached on B now
      expect(await send(a, "DELETE", `/teams/team-research/members/${BOB}`, a.adminToken)).toBe(
        200,
      );
      await Bun.sleep(MAX_STALE_MS);
      expect(await refusal(query())).toBe(403);
      expect((await bob.listTools()).tools.map((t) => t.name)).toEqual(["echo"]);
      await bob.close();

      const minted = await jwt.mint(CAROL);
      const carol = await open(minted.token);
      await carol.callTool({ name: "echo", arguments: { text: "before" } });
      expect(await send(a, "POST", `/admin/tokens/${minted.jti}/revoke`, a.adminToken)).toBe(200);
      await Bun.sleep(MAX_STALE_MS);
      expect(await refusal(carol.callTool({ name: "echo", arguments: { text: "after" } }))).toBe(
        401,
      );
      await carol.close().catch(() => {});
    });

    test("a member removed through one loses the team on the other within maxStaleMs", async () => {
      const token = (await jwt.mint(ALICE)).token;
      expect((await me(b, token)).body.teams).toContain("team-platform");
      expect(await send(a, "DELETE", `/teams/team-platform/members/${ALICE}`, a.adminToken)).toBe(
        200,
      );
      await Bun.sleep(MAX_STALE_MS);
      expect((await me(b, token)).body.teams).not.toContain("team-platform");
      // CAROL is untouched: other users' entries survive the invalidation.
      expect((await me(b, (await jwt.mint(CAROL)).token)).status).toBe(200);
    });

    test("neither process learned it from its revocation poll", async () => {
      for (const gw of [a, b]) {
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        expect(metrics).toMatch(/^gateway_revocation_sync_applied 0$/m);
        expect(metrics).toMatch(/^gateway_revocation_sync_polls 0$/m);
      }
    });
  });
}
