/**
 * The token-scope rule over every authenticated route: the endpoint table below must list every
 * route the app registers (a route added without a row fails the first test), and each row is
 * tried with an unscoped admin token, an admin token scoped to the route's team, and an admin
 * token scoped to another team. A scoped token can never mint or obtain a broader token.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import type { Gateway } from "../src/gateway.ts";
import { ROUTE_SCOPES, type RouteScope } from "../src/scope.ts";
import {
  ADMIN,
  ALICE,
  BOB,
  CAROL,
  call,
  mcpSession,
  removeTempDirs,
  testGateway,
  tokenFor,
} from "./helpers.ts";

const opened: Gateway[] = [];
afterEach(async () => {
  for (const gw of opened.splice(0)) await gw.close();
});
afterAll(removeTempDirs);

async function fresh(): Promise<Gateway> {
  const gw = await testGateway();
  opened.push(gw);
  return gw;
}

const TEAM = "team-platform"; // the admin owns it
const OTHER = `personal:${ADMIN}`; // another team the admin belongs to

interface Endpoint {
  readonly method: string;
  readonly path: string;
  readonly scope: RouteScope["kind"];
  /** The request, against a fresh gateway, with the route's team filled in. */
  run(gw: Gateway, token: string): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Status of the request when the scope rule lets it through. */
  readonly ok: number;
}

const send = (method: string, path: string, body?: unknown) => (gw: Gateway, token: string) =>
  call(gw, path, { token, method, ...(body === undefined ? {} : { body }) });

const ENDPOINTS: readonly Endpoint[] = [
  { method: "GET", path: "/auth/me", scope: "self", ok: 200, run: send("GET", "/auth/me") },
  {
    method: "POST",
    path: "/auth/logout",
    scope: "self",
    ok: 200,
    run: send("POST", "/auth/logout"),
  },
  {
    method: "POST",
    path: "/admin/tokens",
    scope: "global",
    ok: 201,
    run: send("POST", "/admin/tokens", { email: BOB }),
  },
  {
    method: "POST",
    path: "/admin/tokens/:jti/revoke",
    scope: "global",
    ok: 200,
    run: send("POST", "/admin/tokens/some-jti/revoke"),
  },
  {
    method: "POST",
    path: "/admin/users/:email/activate",
    scope: "global",
    ok: 200,
    run: send("POST", `/admin/users/${CAROL}/activate`),
  },
  {
    method: "POST",
    path: "/admin/users/:email/deactivate",
    scope: "global",
    ok: 200,
    run: send("POST", `/admin/users/${CAROL}/deactivate`),
  },
  {
    method: "GET",
    path: "/teams/:id/role",
    scope: "team",
    ok: 200,
    run: send("GET", `/teams/${TEAM}/role`),
  },
  {
    method: "POST",
    path: "/teams/:id/members",
    scope: "team",
    ok: 201,
    run: send("POST", `/teams/${TEAM}/members`, { email: CAROL, role: "viewer" }),
  },
  {
    method: "PATCH",
    path: "/teams/:id/members/:email",
    scope: "team",
    ok: 200,
    run: send("PATCH", `/teams/${TEAM}/members/${ALICE}`, { role: "viewer" }),
  },
  {
    method: "DELETE",
    path: "/teams/:id/members/:email",
    scope: "team",
    ok: 200,
    run: send("DELETE", `/teams/${TEAM}/members/${ALICE}`),
  },
  {
    method: "ALL",
    path: "/mcp",
    scope: "caller-teams",
    ok: 200,
    async run(gw, token) {
      const res = await gw.app.request("/mcp", {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-11-25",
            capabilities: {},
            clientInfo: { name: "scope", version: "1" },
          },
        }),
      });
      await res.body?.cancel();
      return { status: res.status, json: {} };
    },
  },
];

const PUBLIC = new Set([
  "GET /healthz",
  "GET /metrics",
  "GET /.well-known/oauth-protected-resource",
  "GET /.well-known/oauth-protected-resource/mcp",
]);

describe("the scope rule covers every route", () => {
  test("every registered route is public or in the endpoint table, under a ROUTE_SCOPES pattern", async () => {
    const gw = await fresh();
    const middleware = new Set(ROUTE_SCOPES.map((r) => `ALL ${r.path}`));
    middleware.add("ALL /*");
    const registered = new Set(
      gw.app.routes
        .map((r) => `${r.method} ${r.path}`)
        .filter((key) => !middleware.has(key) || key === "ALL /mcp"),
    );
    // /admin/* also carries requireAdmin: middleware, not an endpoint.
    registered.delete("ALL /admin/*");
    const table = new Set(ENDPOINTS.map((e) => `${e.method} ${e.path}`));
    expect([...registered].filter((k) => !PUBLIC.has(k)).sort()).toEqual([...table].sort());
    for (const e of ENDPOINTS) {
      const pattern = ROUTE_SCOPES.find((r) =>
        r.path.endsWith("/*")
          ? e.path.startsWith(r.path.slice(0, r.path.indexOf("/", 1) + 1))
          : e.path === r.path,
      );
      expect(pattern?.scope.kind).toBe(e.scope);
    }
  });
});

describe.each(ENDPOINTS.map((e) => [`${e.method} ${e.path}`, e] as const))("%s", (_name, e) => {
  test("unscoped admin token: allowed", async () => {
    const gw = await fresh();
    const res = await e.run(gw, await tokenFor(gw, ADMIN));
    expect(res.status).toBe(e.ok);
  });

  test(`admin token scoped to ${TEAM}: ${e.scope === "global" ? "403 (admin routes need an unscoped token)" : "allowed"}`, async () => {
    const gw = await fresh();
    const res = await e.run(gw, await tokenFor(gw, ADMIN, [TEAM]));
    if (e.scope === "global") {
      expect(res.status).toBe(403);
      expect(String(res.json.error)).toContain("cannot use admin routes");
    } else {
      expect(res.status).toBe(e.ok);
    }
  });

  test(`admin token scoped to another team (${OTHER}): ${e.scope === "team" || e.scope === "global" ? "403" : "allowed"}`, async () => {
    const gw = await fresh();
    const res = await e.run(gw, await tokenFor(gw, ADMIN, [OTHER]));
    if (e.scope === "team") {
      expect(res.status).toBe(403);
      expect(res.json.error).toBe(`Token is not scoped to team ${TEAM}`);
    } else if (e.scope === "global") {
      expect(res.status).toBe(403);
    } else {
      expect(res.status).toBe(e.ok);
    }
  });
});

describe("minting and the issue's cases", () => {
  test("a scoped admin token cannot mint: not an unscoped one, not a scoped one, not for itself", async () => {
    const gw = await fresh();
    const scoped = await tokenFor(gw, ADMIN, [TEAM]);
    for (const body of [
      { email: ADMIN },
      { email: ADMIN, teams: [TEAM] },
      { email: ALICE, teams: [TEAM] },
    ]) {
      const res = await call(gw, "/admin/tokens", { token: scoped, body });
      expect(res.status).toBe(403);
      expect(res.json.token).toBeUndefined();
    }
    // An unscoped admin mints a scoped token; that token cannot mint in turn.
    const minted = await call(gw, "/admin/tokens", {
      token: await tokenFor(gw, ADMIN),
      body: { email: ADMIN, teams: [TEAM] },
    });
    expect(minted.status).toBe(201);
    const again = await call(gw, "/admin/tokens", {
      token: minted.json.token as string,
      body: { email: ADMIN },
    });
    expect(again.status).toBe(403);
    expect(again.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  });

  test("a token scoped to team-platform cannot add or change members of team-research", async () => {
    const gw = await fresh();
    // alice owns team-research and is a member of team-platform.
    const scoped = await tokenFor(gw, ALICE, [TEAM]);
    const add = await call(gw, "/teams/team-research/members", {
      token: scoped,
      body: { email: CAROL, role: "member" },
    });
    expect(add.status).toBe(403);
    const patch = await call(gw, `/teams/team-research/members/${BOB}`, {
      token: scoped,
      method: "PATCH",
      body: { role: "owner" },
    });
    expect(patch.status).toBe(403);
    // Nothing changed: carol has no role there, bob is still a member.
    expect(
      (await call(gw, "/teams/team-research/role", { token: await tokenFor(gw, CAROL) })).status,
    ).toBe(403);
    const bob = await call(gw, "/teams/team-research/role", { token: await tokenFor(gw, BOB) });
    expect(bob.json.role).toBe("member");
    // In scope, alice as owner may.
    const inScope = await call(gw, "/teams/team-research/members", {
      token: await tokenFor(gw, ALICE, ["team-research"]),
      body: { email: CAROL, role: "member" },
    });
    expect(inScope.status).toBe(201);
  });

  test("/mcp with a scoped token sees the tools of its scope only", async () => {
    const gw = await fresh();
    const tools = async (token: string) => {
      const session = await mcpSession(gw, token);
      const res = await session.request("tools/list");
      return ((res.message?.result ?? { tools: [] }) as { tools: { name: string }[] }).tools.map(
        (t) => t.name,
      );
    };
    expect(await tools(await tokenFor(gw, ALICE))).toEqual([
      "echo",
      "deploy_service",
      "query_dataset",
    ]);
    expect(await tools(await tokenFor(gw, ALICE, [TEAM]))).toEqual(["echo", "deploy_service"]);
    expect(await tools(await tokenFor(gw, ALICE, ["team-research"]))).toEqual([
      "echo",
      "query_dataset",
    ]);
    // And calling outside the scope is refused, though alice belongs to team-research.
    const session = await mcpSession(gw, await tokenFor(gw, ALICE, [TEAM]));
    const res = await session.request("tools/call", {
      name: "query_dataset",
      arguments: {},
    });
    expect(res.status).toBe(403);
  });
});
