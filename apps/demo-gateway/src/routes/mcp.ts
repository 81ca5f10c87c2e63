/**
 * `/mcp`: the MCP Streamable HTTP endpoint, on the official SDK (its web-standard
 * `WebStandardStreamableHTTPServerTransport` and low-level `Server`), stateful:
 *   - POST `initialize` without a session id opens a session (the `Mcp-Session-Id` answer
 *     header); every other request names its session, which belongs to the user who opened it
 *     (another user's token gets 404, as for an unknown session);
 *   - GET opens the session's SSE stream for server notifications; DELETE ends the session;
 *     other methods get 405 with `Allow`;
 *   - SSE answers carry event ids and a retry hint, so a client resumes a cut stream with
 *     `Last-Event-ID` (SEP-1699).
 * Each request went through the bearer middleware, which resolved the caller and their teams
 * through the cache; the caller rides along as `authInfo`, and a request for a team-owned item
 * the caller may not use is refused here with 403 `insufficient_scope` before the SDK sees it.
 */
import { bearerChallenge } from "@authcache/hono";
import {
  type EventStore,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type Caller, type GatewayEnv, REALM } from "../auth.ts";
import { type McpCatalogue, matchTemplate, type TeamOwned, usableBy } from "../mcp/catalogue.ts";
import { createSessionServer, type SessionServer } from "../mcp/server.ts";
import type { GatewayContext } from "./deps.ts";

export interface McpRouteOptions {
  readonly catalogue: McpCatalogue;
  readonly resourceMetadata: (c: Context) => string;
  /** Sessions idle this long are closed (default 30 minutes). */
  readonly sessionIdleMs?: number;
  /** At most this many open sessions; the least recently used is closed beyond it. */
  readonly maxSessions?: number;
  /** SSE `retry` hint, ms (default 1000). */
  readonly retryIntervalMs?: number;
  readonly now: () => number;
}

export interface McpSessions {
  readonly size: number;
  closeAll(): Promise<void>;
}

interface Session extends SessionServer {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly owner: string;
  lastSeen: number;
  /** The teams the last request acted for, to tell the client when its lists changed. */
  teams: string;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

const rpcError = (code: number, message: string) => ({
  jsonrpc: "2.0" as const,
  error: { code, message },
  id: null,
});

export function registerMcpRoute(app: Hono<GatewayEnv>, options: McpRouteOptions): McpSessions {
  const { catalogue } = options;
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const maxSessions = options.maxSessions ?? 10_000;
  const sessions = new Map<string, Session>();

  const closeSession = async (id: string) => {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    // Closes the transport too (its open SSE streams end).
    await session.server.close().catch(() => {});
  };
  const sweep = async () => {
    const now = options.now();
    for (const [id, s] of sessions) if (now - s.lastSeen > idleMs) await closeSession(id);
    // Map order is insertion order; `touch` re-inserts, so the first entry is the least recent.
    while (sessions.size >= maxSessions) {
      const oldest = sessions.keys().next().value;
      if (oldest === undefined) break;
      await closeSession(oldest);
    }
  };
  const touch = (id: string, session: Session) => {
    session.lastSeen = options.now();
    sessions.delete(id);
    sessions.set(id, session);
  };

  const openSession = async (caller: Caller): Promise<Session> => {
    await sweep();
    const { server, subscriptions } = createSessionServer(catalogue);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      eventStore: createEventStore(),
      retryInterval: options.retryIntervalMs ?? 1000,
      onsessioninitialized: (id) => {
        sessions.set(id, session);
      },
    });
    const session: Session = {
      server,
      subscriptions,
      transport,
      owner: caller.email,
      lastSeen: options.now(),
      teams: teamsKey(caller),
    };
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    return session;
  };

  const forbidden = (c: GatewayContext, message: string) => {
    c.header(
      "WWW-Authenticate",
      bearerChallenge({
        realm: REALM,
        error: "insufficient_scope",
        errorDescription: message,
        resourceMetadata: options.resourceMetadata(c),
      }),
    );
    return c.json(rpcError(-32003, message), 403);
  };

  app.use(
    "/mcp",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(rpcError(-32000, `Request body exceeds ${MAX_BODY_BYTES} bytes`), 413),
    }),
  );

  app.all("/mcp", async (c) => {
    const caller = c.get("auth");
    const method = c.req.method;
    if (method !== "GET" && method !== "POST" && method !== "DELETE") {
      return c.json(rpcError(-32000, "Method not allowed"), 405, { Allow: "GET, POST, DELETE" });
    }

    const sessionId = c.req.header("mcp-session-id");
    const found = sessionId === undefined ? undefined : sessions.get(sessionId);
    // Another user's session id is treated like an unknown one: nothing to learn from it.
    const session = found && found.owner === caller.email ? found : undefined;
    if (session) {
      const teams = teamsKey(caller);
      if (teams !== session.teams) {
        // Membership or scope changed since the session's last request: what this client may
        // list changed too (sent on the session's GET stream, when it has one open).
        session.teams = teams;
        void Promise.all([
          session.server.sendToolListChanged(),
          session.server.sendResourceListChanged(),
          session.server.sendPromptListChanged(),
        ]).catch(() => {});
      }
    }

    let body: unknown;
    if (method === "POST") {
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return c.json(rpcError(-32700, "Parse error: Invalid JSON"), 400);
      }
      const refused = refusalFor(catalogue, body, caller);
      if (refused) return forbidden(c, refused);
    }

    const authInfo = {
      token: caller.token,
      clientId: caller.email,
      scopes: caller.scopedTeams ? caller.scopedTeams.map((t) => `team:${t}`) : [],
      expiresAt: Math.floor(caller.tokenExpiresAt / 1000),
      extra: { caller },
    };
    if (sessionId !== undefined) {
      if (!session) return c.json(rpcError(-32001, "Session not found"), 404);
      touch(sessionId, session);
      const res = await session.transport.handleRequest(c.req.raw, {
        ...(body !== undefined ? { parsedBody: body } : {}),
        authInfo,
      });
      return method === "GET" ? opened(res) : res;
    }
    if (method === "POST" && isInitialize(body)) {
      const session = await openSession(caller);
      return session.transport.handleRequest(c.req.raw, { parsedBody: body, authInfo });
    }
    return c.json(rpcError(-32000, "Bad Request: Mcp-Session-Id header is required"), 400);
  });

  return {
    get size() {
      return sessions.size;
    },
    async closeAll() {
      for (const id of [...sessions.keys()]) await closeSession(id);
    },
  };
}

const OPENED = new TextEncoder().encode(": stream open\n\n");

/**
 * A GET SSE stream starts with an SSE comment: until a stream's first bytes, Bun sends no
 * headers at all, so the client's `fetch` would wait for the first notification or keep-alive.
 * Cancelling the answer still cancels the SDK's stream (pipeTo forwards it).
 */
function opened(res: Response): Response {
  if (!res.body || !(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    return res;
  }
  const relay = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      controller.enqueue(OPENED);
    },
  });
  res.body.pipeTo(relay.writable).catch(() => {});
  return new Response(relay.readable, { status: res.status, headers: res.headers });
}

const teamsKey = (caller: Caller) => [...caller.teams].sort().join("\n");

function isInitialize(body: unknown): boolean {
  return (
    typeof body === "object" &&
    body !== null &&
    !Array.isArray(body) &&
    (body as { method?: unknown }).method === "initialize"
  );
}

/**
 * Why the caller may not make one of the requests in `body`, or undefined. Only items that
 * exist and belong to teams the caller is not acting for are refused here; unknown names get
 * the SDK's JSON-RPC errors.
 */
function refusalFor(catalogue: McpCatalogue, body: unknown, caller: Caller): string | undefined {
  const messages = Array.isArray(body) ? body : [body];
  for (const message of messages) {
    if (typeof message !== "object" || message === null) continue;
    const { method, params } = message as { method?: unknown; params?: Record<string, unknown> };
    const p = params ?? {};
    let item: TeamOwned | undefined;
    let what = "";
    if (method === "tools/call") {
      item = catalogue.tools.find((t) => t.name === p.name);
      what = `tool ${String(p.name)}`;
    } else if (method === "prompts/get") {
      item = catalogue.prompts.find((x) => x.name === p.name);
      what = `prompt ${String(p.name)}`;
    } else if (
      method === "resources/read" ||
      method === "resources/subscribe" ||
      method === "resources/unsubscribe"
    ) {
      const uri = String(p.uri);
      item =
        catalogue.resources.find((r) => r.uri === uri) ??
        catalogue.resourceTemplates.find((t) => matchTemplate(t.uriTemplate, uri));
      what = `resource ${uri}`;
    } else if (method === "completion/complete") {
      const ref = (p.ref ?? {}) as { type?: unknown; name?: unknown; uri?: unknown };
      item =
        ref.type === "ref/prompt"
          ? catalogue.prompts.find((x) => x.name === ref.name)
          : catalogue.resourceTemplates.find((t) => t.uriTemplate === ref.uri);
      what = `${String(ref.type)} ${String(ref.name ?? ref.uri)}`;
    }
    if (item && !usableBy(item, caller.teams)) {
      return `Forbidden: ${what} belongs to team ${item.teams.join(" or ")}, which this token does not act for`;
    }
  }
  return undefined;
}

/** Events of one session, for resuming a cut SSE stream; bounded (oldest dropped). */
function createEventStore(limit = 1000): EventStore {
  const events = new Map<string, { streamId: string; seq: number; message: unknown }>();
  let seq = 0;
  return {
    async storeEvent(streamId, message) {
      seq += 1;
      const eventId = `${streamId}::${seq}`;
      events.set(eventId, { streamId, seq, message });
      if (events.size > limit) {
        const oldest = events.keys().next().value;
        if (oldest !== undefined) events.delete(oldest);
      }
      return eventId;
    },
    async getStreamIdForEventId(eventId) {
      return events.get(eventId)?.streamId ?? eventId.split("::")[0];
    },
    async replayEventsAfter(lastEventId, { send }) {
      const [streamId = "", after = "0"] = lastEventId.split("::");
      for (const [eventId, e] of events) {
        if (e.streamId === streamId && e.seq > Number(after))
          await send(eventId, e.message as never);
      }
      return streamId;
    },
  };
}
