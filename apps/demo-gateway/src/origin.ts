/**
 * `Origin` validation (DNS-rebinding protection, as the MCP transport spec requires): a request
 * that carries an `Origin` header is refused with 403 unless that origin is allowed. Requests
 * without one (curl, SDK clients, servers) are not browser requests and pass.
 */
import type { MiddlewareHandler } from "hono";

/** `undefined` = the default: loopback origins (`localhost`, `127.0.0.1`, `[::1]`) on any port. */
export type OriginAllowList = readonly string[] | undefined;

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** True when `origin` may call the gateway. */
export function originAllowed(origin: string, allowed: OriginAllowList): boolean {
  if (allowed) return allowed.includes("*") || allowed.includes(origin);
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (url.protocol === "http:" || url.protocol === "https:") && LOOPBACK.has(url.hostname);
}

export function validateOrigin(allowed: OriginAllowList): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && !originAllowed(origin, allowed)) {
      return c.json(
        {
          jsonrpc: "2.0",
          error: { code: -32000, message: `Forbidden: Origin ${origin} is not allowed` },
          id: null,
        },
        403,
      );
    }
    await next();
  };
}
