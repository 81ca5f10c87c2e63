/**
 * The only module with side effects: reads the environment, starts the gateway, prints how to
 * try it, and shuts down cleanly on SIGINT/SIGTERM.
 */
import { ConfigError, loadConfig } from "./config.ts";
import { startGateway } from "./gateway.ts";

const logger = {
  debug() {},
  info: (message: string, ...rest: unknown[]) => console.log(message, ...rest),
  warn: (message: string, ...rest: unknown[]) => console.warn(`warning: ${message}`, ...rest),
  error: (message: string, ...rest: unknown[]) => console.error(`error: ${message}`, ...rest),
};

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
for (const warning of config.warnings) logger.warn(warning);

const gateway = await startGateway({ config, logger });
const user = await gateway.mintToken("alice@example.com", {
  record: true,
  name: "demo token printed at start",
});
const admin = await gateway.mintToken("admin@example.com", {
  record: true,
  name: "demo admin token printed at start",
});
const until = new Date(user.expiresAt).toISOString();

const url = gateway.url;
const bearer = (name: string) => `-H "Authorization: Bearer $${name}"`;
console.log(`
authcache demo gateway listening on ${url}
  database: ${config.databaseUrl}
  cache:    ${gateway.cacheDescription}, maxStaleMs ${config.cache.maxStaleMs}
  mcp:      ${url}/mcp${config.mcp.conformanceFixtures ? ` (+ conformance fixtures for ${config.mcp.fixturesTeams.join(", ")})` : ""}

Try it (tokens valid until ${until}):

  export TOKEN='${user.token}'
  export ADMIN='${admin.token}'

  curl -s ${bearer("TOKEN")} ${url}/auth/me
  curl -s ${bearer("TOKEN")} ${url}/teams/team-research/role

  # MCP (Streamable HTTP, official SDK): initialize; the answer's Mcp-Session-Id header names
  # the session for the next requests (README: "MCP"). Any MCP client works with the token.
  curl -s -i -X POST ${bearer("TOKEN")} -H 'content-type: application/json' \\
    -H 'accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' \\
    ${url}/mcp
  curl -s ${url}/.well-known/oauth-protected-resource/mcp
  curl -s ${url}/metrics

  # revoke alice's token as admin; the next /auth/me with it answers 401
  curl -s -X POST ${bearer("ADMIN")} ${url}/admin/tokens/${user.jti}/revoke
  curl -s ${bearer("TOKEN")} ${url}/auth/me
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("shutdown failed", error);
        process.exit(1);
      },
    );
  });
}
