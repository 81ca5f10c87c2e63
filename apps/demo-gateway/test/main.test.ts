/** `bun src/main.ts` on the embedded default: it starts, and the curl it prints works. */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { removeTempDirs, tempDir } from "./helpers.ts";
import { spawnGateway } from "./process.ts";

afterAll(removeTempDirs);

describe("main.ts", () => {
  test("starts on a fresh database, prints a working token and curl lines", async () => {
    const dir = tempDir();
    const gw = await spawnGateway({ DATABASE_URL: `file:${join(dir, "fresh", "demo.db")}` });
    try {
      const out = gw.output();
      expect(out).toContain("JWT_SECRET is not set");
      expect(out).toContain(`curl -s -H "Authorization: Bearer $TOKEN" ${gw.url}/auth/me`);
      expect(out).toContain(`/admin/tokens/`);
      expect(out).toContain("L1 only");
      const me = await fetch(`${gw.url}/auth/me`, {
        headers: { authorization: `Bearer ${gw.userToken}` },
      });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { email: string }).email).toBe("alice@example.com");
      // The MCP endpoint with the official SDK client and the printed token.
      const client = new Client({ name: "main-test", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${gw.userToken}` } },
        }),
      );
      expect((await client.listTools()).tools.length).toBe(3);
      await client.close();
    } finally {
      await gw.stop();
    }
    expect(gw.child.exitCode).toBe(0);
  });

  test("a bad configuration exits with one line per problem", async () => {
    const { spawnSync } = await import("node:child_process");
    const run = spawnSync(process.execPath, ["src/main.ts"], {
      cwd: join(import.meta.dir, ".."),
      env: { PATH: process.env.PATH ?? "", PORT: "eighty", AUTH_CACHE_STORE: "redis" },
      encoding: "utf8",
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Invalid configuration (2 problems):");
    expect(run.stderr).toContain('PORT="eighty" is not a whole number');
    expect(run.stderr).toContain("REDIS_URL is required");
  });
});
