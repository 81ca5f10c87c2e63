/**
 * The demo gateway in its own process (pinned apart from the load generator), in one mode:
 *   warm <backend>   the gateway as configured, cache on (memory = L1 only; redis/valkey/libsql
 *                    as L2 and bus, from the environment the parent passes)
 *   cold             the same routes and database with a disabled cache (every request loads)
 * Served over the tests' stdio worker protocol (@authcache/test-servers): its ready payload is
 * { url, tokens } once listening; it takes no calls, and closes and exits when stdin ends.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthCache } from "@authcache/core";
import {
  createApp,
  createGateway,
  type GatewayCache,
  quietLogger,
  seedUsers,
  startGateway,
} from "@authcache/demo-gateway";
import { serveWorker } from "@authcache/test-servers";

const mode = process.argv[2] ?? "warm";
const dir = mkdtempSync(join(tmpdir(), "authcache-bench-gw-"));
const env = {
  ...process.env,
  DATABASE_URL: `file:${join(dir, "gateway.db")}`,
  PORT: "0",
  HOST: "127.0.0.1",
  JWT_SECRET: "benchmark-secret-benchmark-secret-0123456789",
};

let close: () => Promise<void>;
let url: string;
let mint: (email: string) => Promise<{ token: string }>;
if (mode === "cold") {
  const gw = await createGateway({ env, logger: quietLogger });
  const disabled = createAuthCache({ enabled: false }) as unknown as GatewayCache;
  const app = createApp({
    cache: disabled,
    data: gw.data,
    jwt: gw.jwt,
    metrics: gw.metrics,
    clientRoundTrips: () => gw.database.counter.total,
    cacheDescription: "disabled",
  });
  const server = Bun.serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  url = `http://127.0.0.1:${server.port}`;
  mint = (email) => gw.mintToken(email);
  close = async () => {
    await server.stop(true);
    await disabled.close();
    await gw.close();
  };
} else {
  const gw = await startGateway({ env, logger: quietLogger, port: 0, hostname: "127.0.0.1" });
  url = gw.url;
  mint = (email) => gw.mintToken(email);
  close = () => gw.close();
}

const tokens: string[] = [];
for (const u of seedUsers) tokens.push((await mint(u.email)).token);

const stop = async (): Promise<void> => {
  await close().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
};
process.on("SIGTERM", () => void stop().then(() => process.exit(0)));
await serveWorker(() => ({
  ready: { url, tokens },
  call: (method) => {
    throw new Error(`the gateway child takes no calls (${method})`);
  },
  close: stop,
}));
