/**
 * A minimal MCP endpoint (JSON-RPC 2.0 over HTTP POST): `initialize`, `ping` and `tools/list`,
 * the last answering with the tools visible to the caller's teams.
 */
import type { Hono } from "hono";
import type { GatewayEnv } from "../auth.ts";
import { visibleTools } from "../tools.ts";
import { caller, type RouteDeps } from "./deps.ts";

type JsonRpcId = string | number | null;

const PROTOCOL_VERSION = "2025-06-18";

export function registerMcpRoute(app: Hono<GatewayEnv>, deps: RouteDeps): void {
  app.post("/mcp", async (c) => {
    const fail = (id: JsonRpcId, code: number, message: string) =>
      c.json({ jsonrpc: "2.0", id, error: { code, message } });

    let request: unknown;
    try {
      request = JSON.parse(await c.req.text());
    } catch {
      return fail(null, -32700, "Parse error: body is not valid JSON");
    }
    if (Array.isArray(request)) return fail(null, -32600, "Batch requests are not supported");
    if (typeof request !== "object" || request === null) {
      return fail(null, -32600, "Invalid request: expected a JSON-RPC object");
    }
    const { jsonrpc, method, id } = request as Record<string, unknown>;
    const validId =
      id === undefined || id === null || typeof id === "string" || typeof id === "number";
    const replyId: JsonRpcId = validId ? ((id as JsonRpcId | undefined) ?? null) : null;
    if (jsonrpc !== "2.0") return fail(replyId, -32600, 'Invalid request: "jsonrpc" must be "2.0"');
    if (typeof method !== "string") {
      return fail(replyId, -32600, 'Invalid request: "method" must be a string');
    }
    if (!validId) return fail(null, -32600, 'Invalid request: "id" must be a string or number');
    // A notification (no id) gets no JSON-RPC answer.
    if (id === undefined) return c.body(null, 202);

    const ok = (result: unknown) => c.json({ jsonrpc: "2.0", id: replyId, result });
    switch (method) {
      case "initialize":
        return ok({
          protocolVersion: PROTOCOL_VERSION,
          capabilities: { tools: { listChanged: false } },
          serverInfo: { name: "authcache-demo-gateway", version: "0.1.0" },
        });
      case "ping":
        return ok({});
      case "tools/list":
        return ok({
          tools: visibleTools(deps.tools, caller(c).teams).map(
            ({ name, description, inputSchema }) => ({ name, description, inputSchema }),
          ),
        });
      default:
        return fail(replyId, -32601, `Method not found: ${method}`);
    }
  });
}
