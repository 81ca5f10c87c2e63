import { describe, expect, test } from "bun:test";
import { ConfigError, DEV_JWT_SECRET, loadConfig } from "../src/config.ts";

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  test("defaults: embedded database, L1 only, dev secret with a warning", () => {
    const config = loadConfig({});
    expect(config.port).toBe(8787);
    expect(config.databaseUrl).toBe("file:./data/demo.db");
    expect(config.cache.backend).toBe("memory");
    expect(config.cache.url).toBeUndefined();
    expect(config.cache.maxStaleMs).toBe(1000);
    expect(config.jwt.secret).toBe(DEV_JWT_SECRET);
    expect(config.warnings.join("\n")).toContain("JWT_SECRET is not set");
  });

  test("AUTH_CACHE_ENABLED: on by default, false/0 turn it off, anything else is named", () => {
    expect(loadConfig({}).cache.enabled).toBe(true);
    expect(loadConfig({ AUTH_CACHE_ENABLED: "false" }).cache.enabled).toBe(false);
    expect(loadConfig({ AUTH_CACHE_ENABLED: "0" }).cache.enabled).toBe(false);
    expect(loadConfig({ AUTH_CACHE_ENABLED: "TRUE" }).cache.enabled).toBe(true);
    expect(problems({ AUTH_CACHE_ENABLED: "maybe" })).toEqual([
      'AUTH_CACHE_ENABLED="maybe" is not a boolean (expected true, false, 1 or 0)',
    ]);
  });

  test("JWT_VERIFIED_TOKENS: 10 000 for 300 s by default, 0 turns it off, bad values are named", () => {
    expect(loadConfig({}).jwt.verifiedTokens).toEqual({ maxEntries: 10_000, maxAgeSeconds: 300 });
    expect(loadConfig({ JWT_VERIFIED_TOKENS: "0" }).jwt.verifiedTokens).toBe(false);
    expect(
      loadConfig({ JWT_VERIFIED_TOKENS: "50", JWT_VERIFIED_TOKENS_MAX_AGE_SECONDS: "60" }).jwt
        .verifiedTokens,
    ).toEqual({ maxEntries: 50, maxAgeSeconds: 60 });
    expect(problems({ JWT_VERIFIED_TOKENS: "-1" })[0]).toContain("JWT_VERIFIED_TOKENS=");
    expect(problems({ JWT_VERIFIED_TOKENS_MAX_AGE_SECONDS: "0" })[0]).toContain(
      "JWT_VERIFIED_TOKENS_MAX_AGE_SECONDS",
    );
  });

  test("a real secret gives no warning", () => {
    const config = loadConfig({ JWT_SECRET: "x".repeat(32) });
    expect(config.warnings).toEqual([]);
  });

  test("reads every variable", () => {
    const config = loadConfig({
      PORT: "9000",
      DATABASE_URL: "file:/tmp/x.db",
      JWT_SECRET: "s".repeat(40),
      AUTH_CACHE_STORE: "redis",
      REDIS_URL: "redis://127.0.0.1:7777",
      AUTH_CACHE_TTL_USER_MS: "5000",
      AUTH_CACHE_TTL_REVOCATION_MS: "6000",
      AUTH_CACHE_TTL_TEAM_MS: "7000",
      AUTH_CACHE_TTL_ROLE_MS: "8000",
      AUTH_CACHE_TTL_TEAMS_LIST_MS: "9000",
      MAX_STALE_MS: "2000",
      REVOCATION_POLL_MS: "300",
    });
    expect(config.port).toBe(9000);
    expect(config.cache.backend).toBe("redis");
    expect(config.cache.url).toBe("redis://127.0.0.1:7777");
    expect(config.cache.ttlMs).toEqual({
      user: 5000,
      revocation: 6000,
      team: 7000,
      role: 8000,
      teamsList: 9000,
    });
    expect(config.cache.maxStaleMs).toBe(2000);
    expect(config.revocationPollMs).toBe(300);
  });

  test("each bad value gets its own line naming the variable", () => {
    const list = problems({
      PORT: "http",
      JWT_SECRET: "short",
      AUTH_CACHE_STORE: "memcached",
      MAX_STALE_MS: "-5",
      AUTH_CACHE_TTL_USER_MS: "0",
      DATABASE_URL: "postgres://x",
    });
    expect(list).toHaveLength(6);
    const text = list.join("\n");
    expect(text).toContain('PORT="http" is not a whole number');
    expect(text).toContain("JWT_SECRET is 5 characters long");
    expect(text).toContain(
      'AUTH_CACHE_STORE="memcached" is not one of memory, redis, valkey, libsql',
    );
    expect(text).toContain("MAX_STALE_MS=");
    expect(text).toContain("AUTH_CACHE_TTL_USER_MS=0 is out of range");
    expect(text).toContain('DATABASE_URL="postgres://x" is not a');
  });

  test("a backend needs its URL", () => {
    expect(problems({ AUTH_CACHE_STORE: "redis" })).toEqual([
      "REDIS_URL is required (a redis or rediss URL)",
    ]);
    expect(problems({ AUTH_CACHE_STORE: "valkey", VALKEY_URL: "http://x" })[0]).toContain(
      "VALKEY_URL",
    );
    expect(loadConfig({ AUTH_CACHE_STORE: "libsql" }).cache.url).toBe("file:./data/cache.db");
  });

  test("PORT out of range and bus confirmations slower than the staleness bound", () => {
    expect(problems({ PORT: "70000" })).toEqual(["PORT=70000 is out of range (expected 0..65535)"]);
    expect(problems({ MAX_STALE_MS: "200", BUS_CONFIRM_INTERVAL_MS: "250" })).toEqual([
      "BUS_CONFIRM_INTERVAL_MS=250 must be below MAX_STALE_MS=200",
    ]);
  });

  test("the message lists every problem", () => {
    try {
      loadConfig({ PORT: "x", AUTH_CACHE_STORE: "y" });
      throw new Error("unreachable");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toStartWith("Invalid configuration (2 problems):\n  - ");
    }
  });

  test("MCP, OAuth metadata and Origin variables", () => {
    const defaults = loadConfig({});
    expect(defaults.allowedOrigins).toBeUndefined();
    expect(defaults.publicUrl).toBeUndefined();
    expect(defaults.authorizationServers).toEqual([]);
    expect(defaults.mcp).toEqual({ conformanceFixtures: false, fixturesTeams: ["team-platform"] });
    const config = loadConfig({
      ALLOWED_ORIGINS: "https://app.example.com/, http://127.0.0.1:3000",
      PUBLIC_URL: "https://gw.example.com/",
      OAUTH_AUTHORIZATION_SERVERS: "https://auth.example.com",
      MCP_CONFORMANCE_FIXTURES: "true",
      MCP_FIXTURES_TEAMS: "team-a, team-b",
    });
    expect(config.allowedOrigins).toEqual(["https://app.example.com", "http://127.0.0.1:3000"]);
    expect(config.publicUrl).toBe("https://gw.example.com");
    expect(config.authorizationServers).toEqual(["https://auth.example.com"]);
    expect(config.mcp).toEqual({ conformanceFixtures: true, fixturesTeams: ["team-a", "team-b"] });
    expect(
      problems({ ALLOWED_ORIGINS: "evil.example.com", MCP_CONFORMANCE_FIXTURES: "yes" }),
    ).toEqual([
      'ALLOWED_ORIGINS has "evil.example.com", which is not an http(s) URL',
      'MCP_CONFORMANCE_FIXTURES="yes" is not a boolean (expected true, false, 1 or 0)',
    ]);
  });
});
