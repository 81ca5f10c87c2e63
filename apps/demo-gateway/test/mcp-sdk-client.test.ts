/**
 * End to end with the official MCP SDK client over real HTTP (Streamable HTTP, bearer token in
 * the request headers): two gateway instances on one database, sharing an L2 and invalidation
 * bus; the client talks to B while an admin changes things through A. Connect, list, call every
 * tool, read every resource, get the prompt, complete, set the log level, ping; then a member
 * removed through A's admin API is refused by B on their next call within maxStaleMs (403), a
 * token revoked through A is refused (401), and no token is 401 with `resource_metadata`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../src/config.ts";
import { type RunningGateway, startGateway } from "../src/gateway.ts";
import { ADMIN, ALICE, BOB, removeTempDirs, SECRET, tempDir } from "./helpers.ts";

const MAX_STALE_MS = 1000;
let a: RunningGateway;
let b: RunningGateway;
const bus = createMemoryBus({ confirmIntervalMs: 100 });
const store = createMemoryStore();
const clients: Client[] = [];

beforeAll(async () => {
  const env = {
    DATABASE_URL: `file:${join(tempDir(), "gateway.db")}`,
    JWT_SECRET: SECRET,
    MAX_STALE_MS: String(MAX_STALE_MS),
    BUS_CONFIRM_INTERVAL_MS: "100",
  };
  const options = { config: loadConfig(env), store, revocationPollMs: 0, port: 0 };
  a = await startGateway({ ...options, bus });
  b = await startGateway({ ...options, bus: bus.connect() });
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await a?.close();
  await b?.close();
  await bus.close();
  removeTempDirs();
});

async function connect(url: string, token?: string) {
  const client = new Client({ name: "e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

const admin = async (gw: RunningGateway, method: string, path: string, body?: unknown) => {
  const { token } = await gw.mintToken(ADMIN);
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.ok).toBe(true);
  return res.json();
};

/** Retries `call` until it fails with `status` (bounded), then asserts the guarantee: once
 *  maxStaleMs has passed since `since`, it is refused. Returns how long the refusal took to
 *  appear (undefined: not seen before the bound). */
async function refusedWithin(since: number, status: number, call: () => Promise<unknown>) {
  let seenAfter: number | undefined;
  for (let i = 0; i < 200 && seenAfter === undefined; i++) {
    try {
      await call();
    } catch (error) {
      if (error instanceof StreamableHTTPError && error.code === status) {
        seenAfter = Date.now() - since;
        break;
      }
      throw error;
    }
    if (Date.now() - since > MAX_STALE_MS) break;
    await Bun.sleep(10);
  }
  const wait = since + MAX_STALE_MS - Date.now();
  if (wait > 0) await Bun.sleep(wait);
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StreamableHTTPError);
  expect((error as StreamableHTTPError).code).toBe(status);
  // How soon it was refused is reported, not asserted (no wall-clock limits in tests).
  return seenAfter;
}

describe("the official SDK client against the gateway", () => {
  test("connect, list, call every tool, read every resource, get the prompt, complete, log level, ping", async () => {
    const { token } = await b.mintToken(ALICE);
    const { client, transport } = await connect(b.url, token);
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.getServerVersion()?.name).toBe("authcache-demo-gateway");
    expect(client.getServerCapabilities()).toMatchObject({
      tools: {},
      resources: { subscribe: true },
      prompts: {},
      logging: {},
      completions: {},
    });

    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toEqual(["echo", "deploy_service", "query_dataset"]);

    const echo = await client.callTool({ name: "echo", arguments: { text: "hello" } });
    expect(echo.content).toEqual([{ type: "text", text: "hello" }]);

    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params.data);
    });
    const progress: number[] = [];
    const deploy = await client.callTool(
      { name: "deploy_service", arguments: { service: "api", version: "1.2.3" } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect((deploy.content as { text: string }[])[0]?.text).toBe(
      "Deployed api@1.2.3 as deployment #1",
    );
    expect(deploy.structuredContent).toMatchObject({ service: "api", by: ALICE });
    expect(progress).toEqual([1, 2, 3]);
    expect(logs).toEqual([expect.objectContaining({ service: "api", id: 1 })]);

    const query = await client.callTool({
      name: "query_dataset",
      arguments: { species: "kelp", minLengthMm: 2000 },
    });
    expect(query.structuredContent).toEqual({
      rows: [{ id: 2, species: "kelp", lengthMm: 2210, site: "south" }],
    });

    // Bad arguments: a JSON-RPC invalid-params error naming the field.
    await expect(
      client.callTool({ name: "query_dataset", arguments: { limit: "ten" } }),
    ).rejects.toThrow(/limit/);

    const resources = await client.listResources();
    expect(resources.resources.map((r) => r.uri)).toEqual([
      "team://team-platform/runbook",
      "team://team-research/datasets",
    ]);
    for (const r of resources.resources) {
      const read = await client.readResource({ uri: r.uri });
      expect(read.contents[0]?.uri).toBe(r.uri);
      expect((read.contents[0] as { text?: string }).text).toBeString();
    }
    expect(
      (
        (await client.readResource({ uri: "team://team-platform/runbook" })).contents[0] as {
          text: string;
        }
      ).text,
    ).toContain("Recent deployments: 1.");

    const prompts = await client.listPrompts();
    expect(prompts.prompts.map((p) => p.name)).toEqual(["incident_review"]);
    const prompt = await client.getPrompt({
      name: "incident_review",
      arguments: { service: "billing" },
    });
    expect(JSON.stringify(prompt.messages)).toContain("billing service");
    const completion = await client.complete({
      ref: { type: "ref/prompt", name: "incident_review" },
      argument: { name: "service", value: "b" },
    });
    expect(completion.completion.values).toEqual(["billing"]);

    expect(await client.setLoggingLevel("warning")).toEqual({});
    await client.callTool({ name: "deploy_service", arguments: { service: "auth" } });
    expect(logs.length).toBe(1); // info is below warning now: filtered by the SDK server
    expect(await client.ping()).toEqual({});
  });

  test("another team's items are neither listed nor usable (403 insufficient_scope)", async () => {
    const { token } = await b.mintToken(BOB); // team-research only
    const { client } = await connect(b.url, token);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["echo", "query_dataset"]);
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual([
      "team://team-research/datasets",
    ]);
    expect((await client.listPrompts()).prompts).toEqual([]);
    for (const call of [
      () => client.callTool({ name: "deploy_service", arguments: { service: "x" } }),
      () => client.readResource({ uri: "team://team-platform/runbook" }),
      () => client.getPrompt({ name: "incident_review", arguments: { service: "api" } }),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StreamableHTTPError);
      expect((error as StreamableHTTPError).code).toBe(403);
    }
    // The same refusal as raw HTTP: RFC 6750 insufficient_scope with resource_metadata.
    const res = await fetch(`${b.url}/mcp`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": "whatever",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "deploy_service", arguments: {} },
      }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect(res.headers.get("www-authenticate")).toContain(
      `resource_metadata="${b.url}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  test("a member removed through A's admin API is refused by B on their next call within maxStaleMs", async () => {
    const { token } = await b.mintToken(ALICE);
    const { client } = await connect(b.url, token);
    let listChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged += 1;
    });
    const deploy = () => client.callTool({ name: "deploy_service", arguments: { service: "web" } });
    await deploy(); // cached on B: teams, context
    await deploy();
    await admin(a, "DELETE", `/teams/team-platform/members/${ALICE}`);
    const took = await refusedWithin(Date.now(), 403, deploy);
    console.log(`member removal refused on B after ${took} ms (maxStaleMs ${MAX_STALE_MS})`);
    // The session was told that its tool list changed (on its GET stream).
    for (let i = 0; i < 100 && listChanged === 0; i++) await Bun.sleep(10);
    expect(listChanged).toBe(1);
    // Same session, still open: the rest works, and the tool is no longer listed.
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["echo", "query_dataset"]);
    await admin(a, "POST", "/teams/team-platform/members", { email: ALICE, role: "member" });
  });

  test("a token revoked through A: its next call on B is 401", async () => {
    const minted = await b.mintToken(ALICE);
    const { client } = await connect(b.url, minted.token);
    await client.ping();
    await client.callTool({ name: "echo", arguments: { text: "x" } });
    await admin(a, "POST", `/admin/tokens/${minted.jti}/revoke`);
    const took = await refusedWithin(Date.now(), 401, () =>
      client.callTool({ name: "echo", arguments: { text: "y" } }),
    );
    console.log(`revocation refused on B after ${took} ms (maxStaleMs ${MAX_STALE_MS})`);
  });

  test("no token: 401 with resource_metadata, and the metadata document is there", async () => {
    const error = await connect(b.url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(401);

    const res = await fetch(`${b.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
    });
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(metadataUrl).toBe(`${b.url}/.well-known/oauth-protected-resource/mcp`);
    const doc = (await (await fetch(metadataUrl as string)).json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      resource: `${b.url}/mcp`,
      bearer_methods_supported: ["header"],
      resource_signing_alg_values_supported: ["HS256"],
    });
  });

  test("sessions: GET opens the SSE stream, DELETE ends the session, other methods 405, foreign tokens 404", async () => {
    const { token } = await b.mintToken(ALICE);
    // A raw session (no SDK client racing us for the session's one GET stream).
    const post = (body: unknown, extra: Record<string, string> = {}) =>
      fetch(`${b.url}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...extra,
        },
        body: JSON.stringify(body),
      });
    const init = await post({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "raw", version: "1" },
      },
    });
    const sessionId = init.headers.get("mcp-session-id") as string;
    await init.text();
    const headers = {
      authorization: `Bearer ${token}`,
      "mcp-session-id": sessionId,
      "mcp-protocol-version": "2025-11-25",
    };
    // GET: the session's SSE stream, whose headers and first bytes arrive at once.
    const sse = await fetch(`${b.url}/mcp`, {
      headers: { ...headers, accept: "text/event-stream" },
    });
    expect(sse.status).toBe(200);
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    const reader = sse.body?.getReader();
    expect(new TextDecoder().decode((await reader?.read())?.value)).toStartWith(":");
    // Only one standalone stream per session.
    const second = await fetch(`${b.url}/mcp`, {
      headers: { ...headers, accept: "text/event-stream" },
    });
    expect(second.status).toBe(409);
    await second.body?.cancel();
    await reader?.cancel();

    const put = await fetch(`${b.url}/mcp`, { method: "PUT", headers });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, POST, DELETE");

    const bob = await b.mintToken(BOB);
    const foreign = await post(
      { jsonrpc: "2.0", id: 9, method: "ping" },
      { ...headers, authorization: `Bearer ${bob.token}` },
    );
    expect(foreign.status).toBe(404);

    const del = await fetch(`${b.url}/mcp`, { method: "DELETE", headers });
    expect(del.status).toBe(200);
    const after = await post({ jsonrpc: "2.0", id: 10, method: "ping" }, headers);
    expect(after.status).toBe(404);
  });

  test("Origin: a foreign origin is refused, a loopback one accepted", async () => {
    const { token } = await b.mintToken(ALICE);
    const init = (origin: string) =>
      fetch(`${b.url}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          origin,
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
            clientInfo: { name: "origin-test", version: "1" },
          },
        }),
      });
    expect((await init("http://evil.example.com")).status).toBe(403);
    const ok = await init(b.url);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });
});
