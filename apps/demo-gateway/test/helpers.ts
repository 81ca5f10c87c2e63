import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InvalidationBus, Store } from "@authcache/core";
import { SignJWT } from "jose";
import { loadConfig } from "../src/config.ts";
import { createGateway, type Gateway } from "../src/gateway.ts";

export const SECRET = "test-secret-0123456789-0123456789-abcdef";
export const ISSUER = "authcache-demo";
export const AUDIENCE = "authcache-demo-api";

export const ADMIN = "admin@example.com";
export const ALICE = "alice@example.com";
export const BOB = "bob@example.com";
export const CAROL = "carol@example.com";

const dirs: string[] = [];

/** A fresh directory under the system temp dir, removed by `removeTempDirs()`. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "demo-gateway-test-"));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface TestGatewayOptions {
  readonly store?: Store;
  readonly bus?: InvalidationBus;
  readonly env?: Record<string, string>;
  /** Revocation poll interval (default 0: no timer, tests call `poll()`). */
  readonly revocationPollMs?: number;
}

/** A gateway on a fresh database file, L1 only unless a store/bus is given; no poll timer. */
export async function testGateway(options: TestGatewayOptions = {}): Promise<Gateway> {
  const config = loadConfig({
    DATABASE_URL: `file:${join(tempDir(), "gateway.db")}`,
    JWT_SECRET: SECRET,
    ...options.env,
  });
  return createGateway({
    config,
    revocationPollMs: options.revocationPollMs ?? 0,
    ...(options.store ? { store: options.store } : {}),
    ...(options.bus ? { bus: options.bus } : {}),
  });
}

export interface Call {
  readonly token?: string;
  readonly method?: string;
  /** An object is sent as JSON; a string is sent as is. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export async function call(gw: Gateway, path: string, init: Call = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    headers["content-type"] = "application/json";
  }
  const res = await gw.app.request(path, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON (metrics, empty bodies)
  }
  return { status: res.status, json, text, headers: res.headers };
}

export async function tokenFor(gw: Gateway, email: string, teams?: string[]): Promise<string> {
  return (await gw.mintToken(email, teams ? { teams } : {})).token;
}

export interface ForgeOptions {
  readonly sub?: string;
  readonly secret?: string;
  readonly aud?: string;
  readonly iss?: string;
  /** Seconds since epoch. */
  readonly exp?: number;
  readonly jti?: string;
}

/** Signs a token with chosen claims (for the refusal paths). */
export async function forge(options: ForgeOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(options.sub ?? ALICE)
    .setJti(options.jti ?? crypto.randomUUID())
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt(now - 10)
    .setExpirationTime(options.exp ?? now + 600)
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/** An unsecured JWT (`alg: none`) with otherwise valid claims. */
export function unsecuredToken(sub = ALICE): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none", typ: "JWT" })}.${b64({
    sub,
    jti: crypto.randomUUID(),
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 600,
  })}.`;
}

/** Wraps a Store so every call is counted by method name. */
export function countingStore(store: Store): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (typeof prop === "string" && prop !== "close") {
          calls.set(prop, (calls.get(prop) ?? 0) + 1);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, calls };
}

export function totalCalls(calls: Map<string, number>): number {
  let n = 0;
  for (const v of calls.values()) n += v;
  return n;
}

export interface McpReply {
  readonly status: number;
  readonly headers: Headers;
  /** The JSON-RPC answer (from a JSON body or the last `data:` of an SSE body). */
  readonly message: Record<string, unknown> | undefined;
}

/** Reads a JSON-RPC answer from a JSON or SSE response (SSE priming events have no data). */
export async function readRpc(res: Response): Promise<Record<string, unknown> | undefined> {
  const text = await res.text();
  if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    const data = text
      .split("\n")
      .filter((l) => l.startsWith("data: ") && l.length > "data: ".length)
      .map((l) => JSON.parse(l.slice("data: ".length)) as Record<string, unknown>);
    return data.find((m) => "result" in m || "error" in m);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** An initialized MCP session on `gw.app` (no network), for raw JSON-RPC requests. */
export async function mcpSession(gw: Gateway, token: string) {
  const headers = (sessionId?: string | null): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(sessionId ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" } : {}),
  });
  const post = (body: unknown, sessionId?: string | null) =>
    gw.app.request("/mcp", {
      method: "POST",
      headers: headers(sessionId),
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  const init = await post({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "gateway-test", version: "1.0.0" },
    },
  });
  if (init.status !== 200) throw new Error(`initialize answered ${init.status}`);
  const sessionId = init.headers.get("mcp-session-id");
  const initialized = await readRpc(init);
  await (await post({ jsonrpc: "2.0", method: "notifications/initialized" }, sessionId)).text();
  let id = 1;
  return {
    sessionId,
    initialized,
    /** Sends one JSON-RPC request (or any raw body) in the session. */
    async send(body: unknown): Promise<McpReply> {
      const res = await post(body, sessionId);
      return { status: res.status, headers: res.headers, message: await readRpc(res) };
    },
    async request(method: string, params: Record<string, unknown> = {}): Promise<McpReply> {
      return this.send({ jsonrpc: "2.0", id: id++, method, params });
    },
  };
}
