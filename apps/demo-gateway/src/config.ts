/**
 * Configuration from environment variables, validated once at start. Every bad value gets its
 * own line in the error, naming the variable, what it holds and what was expected.
 */

export type CacheBackend = "memory" | "redis" | "valkey" | "libsql";

export interface CacheTtls {
  readonly user: number;
  readonly revocation: number;
  readonly team: number;
  readonly role: number;
  readonly teamsList: number;
}

export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly databaseAuthToken: string | undefined;
  readonly jwt: {
    readonly secret: string;
    readonly issuer: string;
    readonly audience: string;
    readonly ttlSeconds: number;
  };
  readonly cache: {
    readonly backend: CacheBackend;
    /** The URL of the L2 and bus server (redis, valkey) or database (libsql). */
    readonly url: string | undefined;
    readonly authToken: string | undefined;
    readonly prefix: string;
    /** Milliseconds. */
    readonly ttlMs: CacheTtls;
    readonly maxStaleMs: number;
    readonly l1MaxEntries: number;
    /** false: every lookup goes to the database (for comparisons; AUTH_CACHE_ENABLED). */
    readonly enabled: boolean;
    readonly busConfirmIntervalMs: number;
  };
  readonly revocationPollMs: number;
  /** Base URL clients use to reach the gateway (RFC 9728 `resource`); default: the request's. */
  readonly publicUrl: string | undefined;
  /** Issuers listed as `authorization_servers` in the RFC 9728 metadata. */
  readonly authorizationServers: readonly string[];
  /** Origins allowed to call the gateway; undefined = loopback origins on any port. */
  readonly allowedOrigins: readonly string[] | undefined;
  readonly mcp: {
    /** Serve the MCP conformance suite's fixtures (MCP_CONFORMANCE_FIXTURES). */
    readonly conformanceFixtures: boolean;
    /** Teams owning those fixtures (MCP_FIXTURES_TEAMS). */
    readonly fixturesTeams: readonly string[];
  };
  /** Things that work but should not reach production (the default JWT secret). */
  readonly warnings: readonly string[];
}

export const DEV_JWT_SECRET = "authcache-demo-dev-secret-do-not-use-in-production";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const BACKENDS: readonly CacheBackend[] = ["memory", "redis", "valkey", "libsql"];

/** Reads and validates the configuration; throws `ConfigError` listing every bad value. */
export function loadConfig(env: Env): GatewayConfig {
  const problems: string[] = [];
  const warnings: string[] = [];

  const str = (name: string, fallback: string): string => {
    const v = env[name];
    if (v === undefined || v === "") return fallback;
    return v;
  };
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      problems.push(
        `${name}=${JSON.stringify(raw)} is not a whole number (expected ${min}..${max})`,
      );
      return fallback;
    }
    const n = Number(raw.trim());
    if (n < min || n > max) {
      problems.push(`${name}=${raw} is out of range (expected ${min}..${max})`);
      return fallback;
    }
    return n;
  };
  const url = (name: string, schemes: readonly string[], required: boolean, fallback?: string) => {
    const raw = env[name];
    if (raw === undefined || raw === "") {
      if (required && fallback === undefined) {
        problems.push(`${name} is required (a ${schemes.join(" or ")} URL)`);
      }
      return fallback;
    }
    const scheme = raw.split(":")[0]?.toLowerCase() ?? "";
    if (!schemes.includes(scheme) || raw.length <= scheme.length + 1) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a ${schemes.join(" or ")} URL`);
    }
    return raw;
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const v = raw.trim().toLowerCase();
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    problems.push(`${name}=${JSON.stringify(raw)} is not a boolean (expected true, false, 1 or 0)`);
    return fallback;
  };

  const list = (name: string): string[] | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return undefined;
    return raw
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
  };
  const httpUrls = (name: string): string[] | undefined => {
    const values = list(name);
    for (const v of values ?? []) {
      if (v !== "*" && !/^https?:\/\/[^/\s]+/.test(v)) {
        problems.push(`${name} has ${JSON.stringify(v)}, which is not an http(s) URL`);
      }
    }
    return values;
  };

  const port = int("PORT", 8787, 0, 65535);
  const host = str("HOST", "127.0.0.1");
  const databaseUrl =
    url("DATABASE_URL", ["file", "libsql", "http", "https", "ws", "wss"], false) ??
    "file:./data/demo.db";

  let secret = env.JWT_SECRET ?? "";
  if (secret === "") {
    secret = DEV_JWT_SECRET;
    warnings.push(
      "JWT_SECRET is not set: using the built-in development secret. Anyone can mint tokens " +
        "for this gateway; set JWT_SECRET (32+ characters) for anything but a local demo.",
    );
  } else if (secret.length < 32) {
    problems.push(`JWT_SECRET is ${secret.length} characters long (expected at least 32)`);
  }

  const rawBackend = str("AUTH_CACHE_STORE", "memory").toLowerCase();
  let backend: CacheBackend = "memory";
  if ((BACKENDS as readonly string[]).includes(rawBackend)) {
    backend = rawBackend as CacheBackend;
  } else {
    problems.push(
      `AUTH_CACHE_STORE=${JSON.stringify(env.AUTH_CACHE_STORE)} is not one of ${BACKENDS.join(", ")}`,
    );
  }
  let cacheUrl: string | undefined;
  if (backend === "redis") cacheUrl = url("REDIS_URL", ["redis", "rediss"], true);
  if (backend === "valkey") cacheUrl = url("VALKEY_URL", ["redis", "rediss", "valkey"], true);
  if (backend === "libsql") {
    cacheUrl = url(
      "LIBSQL_CACHE_URL",
      ["file", "libsql", "http", "https", "ws", "wss"],
      true,
      "file:./data/cache.db",
    );
  }

  const maxStaleMs = int("MAX_STALE_MS", 1000, 1);
  const busConfirmIntervalMs = int("BUS_CONFIRM_INTERVAL_MS", Math.min(250, maxStaleMs), 1);
  if (busConfirmIntervalMs >= maxStaleMs && env.BUS_CONFIRM_INTERVAL_MS) {
    problems.push(
      `BUS_CONFIRM_INTERVAL_MS=${busConfirmIntervalMs} must be below MAX_STALE_MS=${maxStaleMs}`,
    );
  }

  const config: GatewayConfig = {
    port,
    host,
    databaseUrl,
    databaseAuthToken: env.DATABASE_AUTH_TOKEN || undefined,
    jwt: {
      secret,
      issuer: str("JWT_ISSUER", "authcache-demo"),
      audience: str("JWT_AUDIENCE", "authcache-demo-api"),
      ttlSeconds: int("JWT_TTL_SECONDS", 3600, 1),
    },
    cache: {
      backend,
      url: cacheUrl,
      authToken: env.LIBSQL_CACHE_AUTH_TOKEN || undefined,
      prefix: str("AUTH_CACHE_PREFIX", "authcache:demo:"),
      ttlMs: {
        user: int("AUTH_CACHE_TTL_USER_MS", 60_000, 1),
        revocation: int("AUTH_CACHE_TTL_REVOCATION_MS", 30_000, 1),
        team: int("AUTH_CACHE_TTL_TEAM_MS", 60_000, 1),
        role: int("AUTH_CACHE_TTL_ROLE_MS", 60_000, 1),
        teamsList: int("AUTH_CACHE_TTL_TEAMS_LIST_MS", 60_000, 1),
      },
      maxStaleMs,
      l1MaxEntries: int("AUTH_CACHE_L1_MAX_ENTRIES", 10_000, 1),
      enabled: bool("AUTH_CACHE_ENABLED", true),
      busConfirmIntervalMs,
    },
    revocationPollMs: int("REVOCATION_POLL_MS", 500, 10),
    publicUrl: httpUrls("PUBLIC_URL")?.[0]?.replace(/\/+$/, ""),
    authorizationServers: httpUrls("OAUTH_AUTHORIZATION_SERVERS") ?? [],
    allowedOrigins: httpUrls("ALLOWED_ORIGINS")?.map((o) =>
      o === "*" ? o : o.replace(/\/+$/, ""),
    ),
    mcp: {
      conformanceFixtures: bool("MCP_CONFORMANCE_FIXTURES", false),
      fixturesTeams: list("MCP_FIXTURES_TEAMS") ?? ["team-platform"],
    },
    warnings,
  };
  // Checked only after every variable was read, so one run lists every problem.
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
