/** Every route's happy path, its 400s (naming the field) and 404s. */
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { personalTeamId } from "../src/db/seed.ts";
import type { Gateway } from "../src/gateway.ts";
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

let gw: Gateway;
let admin: string;
beforeEach(async () => {
  gw = await testGateway();
  admin = await tokenFor(gw, ADMIN);
});
afterEach(async () => {
  await gw.close();
});
afterAll(removeTempDirs);

async function toolsOf(token: string): Promise<string[]> {
  const session = await mcpSession(gw, token);
  const res = await session.request("tools/list");
  expect(res.status).toBe(200);
  const result = (res.message?.result ?? { tools: [] }) as { tools: { name: string }[] };
  return result.tools.map((t) => t.name);
}

function expect400(res: { status: number; json: Record<string, unknown> }, field?: string) {
  expect(res.status).toBe(400);
  expect(typeof res.json.error).toBe("string");
  if (field) {
    expect(res.json.field).toBe(field);
    expect(res.json.error as string).toContain(field);
  }
}

describe("public routes", () => {
  test("GET /healthz", async () => {
    const res = await call(gw, "/healthz");
    expect(res.status).toBe(200);
    expect(res.json.status).toBe("ok");
    expect((res.json.cache as { backend: string }).backend).toBe("L1 only (no L2, no bus)");
  });

  test("GET /metrics: requests, auth outcomes, DB queries by kind, cache stats", async () => {
    const token = await tokenFor(gw, ALICE);
    await call(gw, "/auth/me", { token });
    await call(gw, "/auth/me");
    const res = await call(gw, "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    expect(res.text).toContain(
      'gateway_http_requests_total{method="GET",route="/auth/me",status="200"} 1',
    );
    expect(res.text).toContain(
      'gateway_http_requests_total{method="GET",route="/auth/me",status="401"} 1',
    );
    expect(res.text).toContain('gateway_auth_total{outcome="ok"} 1');
    expect(res.text).toContain('gateway_auth_total{outcome="missing_token"} 1');
    expect(res.text).toContain('gateway_db_queries_total{kind="auth_context"} 1');
    expect(res.text).toContain('gateway_db_queries_total{kind="user_teams"} 1');
    expect(res.text).toMatch(/^authcache_misses \d+$/m);
    expect(res.text).toMatch(/^authcache_hits \d+$/m);
    expect(res.text).toMatch(/^gateway_revocation_sync_polls 0$/m);
    // Every sample line is `name{labels} value` or `name value`.
    for (const line of res.text.trim().split("\n")) {
      if (line !== "" && !line.startsWith("#"))
        expect(line).toMatch(/^[a-z0-9_]+(\{[^}]*\})? -?[0-9.e+-]+$/);
    }
  });

  test("unknown route: 404", async () => {
    const res = await call(gw, "/nope");
    expect(res.status).toBe(404);
    expect(res.json.error).toBe("No route GET /nope");
  });
});

describe("/auth", () => {
  test("GET /auth/me", async () => {
    const minted = await gw.mintToken(ALICE);
    const res = await call(gw, "/auth/me", { token: minted.token });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      email: ALICE,
      fullName: "Alice Anders",
      isAdmin: false,
      personalTeamId: personalTeamId(ALICE),
      teams: [personalTeamId(ALICE), "team-platform", "team-research"].sort(),
      token: {
        jti: minted.jti,
        expiresAt: new Date(minted.expiresAt).toISOString(),
        scopedTeams: null,
      },
    });
  });

  test("POST /auth/logout revokes the caller's token, with its expiry", async () => {
    const minted = await gw.mintToken(BOB);
    const res = await call(gw, "/auth/logout", { token: minted.token, method: "POST" });
    expect(res.json).toEqual({ revoked: true, jti: minted.jti });
    const rows = await gw.database.client.execute({
      sql: "SELECT revoked_by, reason, expires_at FROM token_revocations WHERE jti = ?",
      args: [minted.jti],
    });
    expect(rows.rows[0]?.revoked_by).toBe(BOB);
    expect(rows.rows[0]?.reason).toBe("logout");
    expect(Number(rows.rows[0]?.expires_at)).toBe(minted.expiresAt);
    // The poller must not apply this revocation a second time.
    expect(await gw.revocations.poll()).toBe(0);
  });
});

describe("/admin/tokens", () => {
  test("POST /admin/tokens issues a working token, recorded in api_tokens", async () => {
    const res = await call(gw, "/admin/tokens", {
      token: admin,
      body: { email: BOB, name: "ci", ttlSeconds: 600 },
    });
    expect(res.status).toBe(201);
    expect(res.json.email).toBe(BOB);
    expect(res.json.name).toBe("ci");
    const me = await call(gw, "/auth/me", { token: res.json.token as string });
    expect(me.json.email).toBe(BOB);
    const row = await gw.data.getApiToken(res.json.jti as string);
    expect(row?.userEmail).toBe(BOB);
    expect(new Date(res.json.expiresAt as string).getTime()).toBe(row?.expiresAt ?? -1);
  });

  test("a team-scoped token acts for its teams only", async () => {
    const res = await call(gw, "/admin/tokens", {
      token: admin,
      body: { email: ALICE, teams: ["team-research"] },
    });
    expect(res.status).toBe(201);
    const token = res.json.token as string;
    const me = await call(gw, "/auth/me", { token });
    expect(me.json.teams).toEqual(["team-research"]);
    expect((me.json.token as { scopedTeams: string[] }).scopedTeams).toEqual(["team-research"]);
    expect(await toolsOf(token)).toEqual(["echo", "query_dataset"]);
  });

  test("bad bodies: 400 naming the field", async () => {
    const post = (body: unknown) => call(gw, "/admin/tokens", { token: admin, body });
    expect400(await post({}), "email");
    expect400(await post({ email: 42 }), "email");
    expect400(await post({ email: "not-an-email" }), "email");
    expect400(await post({ email: BOB, ttlSeconds: 5 }), "ttlSeconds");
    expect400(await post({ email: BOB, ttlSeconds: "600" }), "ttlSeconds");
    expect400(await post({ email: BOB, name: "" }), "name");
    expect400(await post({ email: BOB, teams: "team-research" }), "teams");
    expect400(await post({ email: BOB, teams: [] }), "teams");
    expect400(await post({ email: BOB, teams: ["team-platform"] }), "teams");
    expect400(await post("{not json"));
    expect400(await post("[1,2]"));
    expect400(await call(gw, "/admin/tokens", { token: admin, method: "POST" }));
    await call(gw, `/admin/users/${CAROL}/deactivate`, { token: admin, method: "POST" });
    expect400(await post({ email: CAROL }), "email");
  });

  test("unknown user: 404", async () => {
    const res = await call(gw, "/admin/tokens", {
      token: admin,
      body: { email: "ghost@example.com" },
    });
    expect(res.status).toBe(404);
  });

  test("POST /admin/tokens/:jti/revoke, twice", async () => {
    const issued = await call(gw, "/admin/tokens", { token: admin, body: { email: BOB } });
    const jti = issued.json.jti as string;
    const first = await call(gw, `/admin/tokens/${jti}/revoke`, {
      token: admin,
      body: { reason: "leaked" },
    });
    expect(first.json).toEqual({ jti, revoked: true, alreadyRevoked: false });
    const second = await call(gw, `/admin/tokens/${jti}/revoke`, { token: admin, method: "POST" });
    expect(second.json).toEqual({ jti, revoked: true, alreadyRevoked: true });
    const rows = await gw.database.client.execute({
      sql: "SELECT reason, expires_at FROM token_revocations WHERE jti = ?",
      args: [jti],
    });
    expect(rows.rows[0]?.reason).toBe("leaked");
    expect(Number(rows.rows[0]?.expires_at)).toBe(
      new Date(issued.json.expiresAt as string).getTime(),
    );
    expect((await call(gw, "/auth/me", { token: issued.json.token as string })).status).toBe(401);
    expect400(
      await call(gw, `/admin/tokens/${jti}/revoke`, { token: admin, body: { reason: 7 } }),
      "reason",
    );
  });
});

describe("/admin/users", () => {
  test("activate and deactivate; unknown user 404", async () => {
    const off = await call(gw, `/admin/users/${BOB}/deactivate`, { token: admin, method: "POST" });
    expect(off.json).toEqual({ email: BOB, isActive: false });
    expect((await gw.data.getUser(BOB))?.isActive).toBe(false);
    const on = await call(gw, `/admin/users/${BOB}/activate`, { token: admin, method: "POST" });
    expect(on.json).toEqual({ email: BOB, isActive: true });
    const ghost = await call(gw, "/admin/users/ghost@example.com/deactivate", {
      token: admin,
      method: "POST",
    });
    expect(ghost.status).toBe(404);
  });
});

describe("/teams", () => {
  test("GET /teams/:id/role", async () => {
    const res = await call(gw, "/teams/team-research/role", { token: await tokenFor(gw, ALICE) });
    expect(res.json).toEqual({ teamId: "team-research", email: ALICE, role: "owner" });
  });

  test("add a member: their teams, role and tools change at once", async () => {
    const carol = await tokenFor(gw, CAROL);
    // Warm Carol's cached teams and role first: the write must invalidate them.
    expect(await toolsOf(carol)).toEqual(["echo"]);
    expect((await call(gw, "/teams/team-research/role", { token: carol })).status).toBe(403);

    const owner = await tokenFor(gw, ALICE);
    const res = await call(gw, "/teams/team-research/members", {
      token: owner,
      body: { email: CAROL, role: "viewer" },
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ teamId: "team-research", email: CAROL, role: "viewer" });
    expect(await toolsOf(carol)).toEqual(["echo", "query_dataset"]);
    const role = await call(gw, "/teams/team-research/role", { token: carol });
    expect(role.json.role).toBe("viewer");
  });

  test("change a role", async () => {
    const bob = await tokenFor(gw, BOB);
    expect((await call(gw, "/teams/team-research/role", { token: bob })).json.role).toBe("member");
    const res = await call(gw, `/teams/team-research/members/${BOB}`, {
      token: admin,
      method: "PATCH",
      body: { role: "owner" },
    });
    expect(res.json).toEqual({ teamId: "team-research", email: BOB, role: "owner" });
    expect((await call(gw, "/teams/team-research/role", { token: bob })).json.role).toBe("owner");
  });

  test("remove a member", async () => {
    const bob = await tokenFor(gw, BOB);
    expect(await toolsOf(bob)).toEqual(["echo", "query_dataset"]);
    const res = await call(gw, `/teams/team-research/members/${BOB}`, {
      token: await tokenFor(gw, ALICE),
      method: "DELETE",
    });
    expect(res.json).toEqual({ teamId: "team-research", email: BOB, removed: true });
    expect(await toolsOf(bob)).toEqual(["echo"]);
    expect((await call(gw, "/teams/team-research/role", { token: bob })).status).toBe(403);
    const again = await call(gw, `/teams/team-research/members/${BOB}`, {
      token: admin,
      method: "DELETE",
    });
    expect(again.status).toBe(404);
  });

  test("bad bodies: 400 naming the field; unknown team or member 404; personal team 400", async () => {
    const add = (body: unknown, team = "team-platform") =>
      call(gw, `/teams/${team}/members`, { token: admin, body });
    expect400(await add({ role: "member" }), "email");
    expect400(await add({ email: CAROL }), "role");
    expect400(await add({ email: CAROL, role: "king" }), "role");
    expect400(await add("nope"));
    expect400(
      await call(gw, `/teams/team-platform/members/${ALICE}`, {
        token: admin,
        method: "PATCH",
        body: { role: 3 },
      }),
      "role",
    );
    expect((await add({ email: CAROL, role: "member" }, "team-nope")).status).toBe(404);
    expect((await add({ email: "ghost@example.com", role: "member" })).status).toBe(404);
    expect400(await add({ email: CAROL, role: "member" }, personalTeamId(BOB)));
    const patch = await call(gw, `/teams/team-platform/members/${CAROL}`, {
      token: admin,
      method: "PATCH",
      body: { role: "owner" },
    });
    expect(patch.status).toBe(404);
  });
});

describe("POST /mcp", () => {
  test("tools/list shows the tools of the caller's teams", async () => {
    expect(await toolsOf(await tokenFor(gw, ALICE))).toEqual([
      "echo",
      "deploy_service",
      "query_dataset",
    ]);
    expect(await toolsOf(await tokenFor(gw, BOB))).toEqual(["echo", "query_dataset"]);
    expect(await toolsOf(await tokenFor(gw, CAROL))).toEqual(["echo"]);
  });

  test("initialize, ping, notifications and JSON-RPC errors, on the SDK's transport", async () => {
    const token = await tokenFor(gw, ALICE);
    const session = await mcpSession(gw, token);
    expect(session.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const init = session.initialized?.result as { serverInfo: { name: string } };
    expect(init.serverInfo.name).toBe("authcache-demo-gateway");
    const ping = await session.request("ping");
    expect(ping.message).toEqual({ jsonrpc: "2.0", id: 1, result: {} });
    const note = await session.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    expect(note.status).toBe(202);
    const code = async (body: unknown) =>
      ((await session.send(body)).message?.error as { code: number } | undefined)?.code;
    expect(await code("{oops")).toBe(-32700);
    expect(await code({ id: 1, method: "ping" })).toBe(-32700);
    expect(await code({ jsonrpc: "2.0", id: 5, method: "no/such/method" })).toBe(-32601);
    expect(
      await code({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "nope", arguments: {} },
      }),
    ).toBe(-32602);
    // A request without a session, other than initialize: 400.
    const bare = await call(gw, "/mcp", {
      token,
      body: { jsonrpc: "2.0", id: 1, method: "tools/list" },
      headers: { accept: "application/json, text/event-stream" },
    });
    expect(bare.status).toBe(400);
  });

  test("tools/call runs the tool", async () => {
    const session = await mcpSession(gw, await tokenFor(gw, ALICE));
    const res = await session.request("tools/call", {
      name: "echo",
      arguments: { text: "hi" },
    });
    expect(res.message?.result).toEqual({ content: [{ type: "text", text: "hi" }] });
  });

  test("needs a token", async () => {
    const res = await call(gw, "/mcp", { body: { jsonrpc: "2.0", id: 1, method: "tools/list" } });
    expect(res.status).toBe(401);
  });
});
