/**
 * Configuration from environment variables, validated once at start by one zod schema. Every
 * bad value gets its own line in the error, naming the variable, what it holds and what was
 * expected; every variable is read before failing, so one run lists every problem.
 */
import { z } from "zod";

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
    /** Remembered verified tokens (`@authcache/hono`'s `verifiedTokens`), or false: off. */
    readonly verifiedTokens:
      | { readonly maxEntries: number; readonly maxAgeSeconds: number }
      | false;
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
const SQL_SCHEMES = ["file", "libsql", "http", "https", "ws", "wss"] as const;

type Ctx = z.RefinementCtx;
/** Unset and empty are the same: the default. */
const raw = z.string().optional();
const given = (v: string | undefined): v is string => v !== undefined && v !== "";

const text = (fallback: string) => raw.transform((v) => (given(v) ? v : fallback));

const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  raw.transform((v, ctx: Ctx) => {
    if (!given(v)) return fallback;
    if (!/^\d+$/.test(v.trim())) {
      ctx.addIssue({
        code: "custom",
        message: `${name}=${JSON.stringify(v)} is not a whole number (expected ${min}..${max})`,
      });
      return fallback;
    }
    const n = Number(v.trim());
    if (n < min || n > max) {
      ctx.addIssue({
        code: "custom",
        message: `${name}=${v} is out of range (expected ${min}..${max})`,
      });
      return fallback;
    }
    return n;
  });

const bool = (name: string, fallback: boolean) =>
  raw.transform((v, ctx: Ctx) => {
    if (!given(v)) return fallback;
    const t = v.trim().toLowerCase();
    if (t === "true" || t === "1") return true;
    if (t === "false" || t === "0") return false;
    ctx.addIssue({
      code: "custom",
      message: `${name}=${JSON.stringify(v)} is not a boolean (expected true, false, 1 or 0)`,
    });
    return fallback;
  });

/** A URL with one of `schemes`, or undefined when unset (required-ness is checked below). */
const url = (name: string, schemes: readonly string[]) =>
  raw.transform((v, ctx: Ctx) => {
    if (!given(v)) return undefined;
    const scheme = v.split(":")[0]?.toLowerCase() ?? "";
    if (!schemes.includes(scheme) || v.length <= scheme.length + 1) {
      ctx.addIssue({
        code: "custom",
        message: `${name}=${JSON.stringify(v)} is not a ${schemes.join(" or ")} URL`,
      });
    }
    return v;
  });

const list = raw.transform((v) =>
  given(v) && v.trim() !== ""
    ? v
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "")
    : undefined,
);

/** A comma-separated list of http(s) URLs (or `*`), without trailing slashes. */
const httpUrls = (name: string) =>
  list.transform((values, ctx: Ctx) => {
    for (const v of values ?? []) {
      if (v !== "*" && !/^https?:\/\/[^/\s]+/.test(v)) {
        ctx.addIssue({
          code: "custom",
          message: `${name} has ${JSON.stringify(v)}, which is not an http(s) URL`,
        });
      }
    }
    return values?.map((v) => (v === "*" ? v : v.replace(/\/+$/, "")));
  });

const envSchema = z
  .object({
    PORT: int("PORT", 8787, 0, 65535),
    HOST: text("127.0.0.1"),
    DATABASE_URL: url("DATABASE_URL", SQL_SCHEMES),
    DATABASE_AUTH_TOKEN: raw,
    JWT_SECRET: raw.transform((v, ctx: Ctx) => {
      if (given(v) && v.length < 32) {
        ctx.addIssue({
          code: "custom",
          message: `JWT_SECRET is ${v.length} characters long (expected at least 32)`,
        });
      }
      return given(v) ? v : undefined;
    }),
    JWT_ISSUER: text("authcache-demo"),
    JWT_AUDIENCE: text("authcache-demo-api"),
    JWT_TTL_SECONDS: int("JWT_TTL_SECONDS", 3600, 1),
    JWT_VERIFIED_TOKENS: int("JWT_VERIFIED_TOKENS", 10_000, 0),
    JWT_VERIFIED_TOKENS_MAX_AGE_SECONDS: int("JWT_VERIFIED_TOKENS_MAX_AGE_SECONDS", 300, 1),
    AUTH_CACHE_STORE: raw.transform((v, ctx: Ctx): CacheBackend => {
      const b = (given(v) ? v : "memory").toLowerCase();
      if ((BACKENDS as readonly string[]).includes(b)) return b as CacheBackend;
      ctx.addIssue({
        code: "custom",
        message: `AUTH_CACHE_STORE=${JSON.stringify(v)} is not one of ${BACKENDS.join(", ")}`,
      });
      return "memory";
    }),
    REDIS_URL: url("REDIS_URL", ["redis", "rediss"]),
    VALKEY_URL: url("VALKEY_URL", ["redis", "rediss", "valkey"]),
    LIBSQL_CACHE_URL: url("LIBSQL_CACHE_URL", SQL_SCHEMES),
    LIBSQL_CACHE_AUTH_TOKEN: raw,
    AUTH_CACHE_PREFIX: text("authcache:demo:"),
    AUTH_CACHE_TTL_USER_MS: int("AUTH_CACHE_TTL_USER_MS", 60_000, 1),
    AUTH_CACHE_TTL_REVOCATION_MS: int("AUTH_CACHE_TTL_REVOCATION_MS", 30_000, 1),
    AUTH_CACHE_TTL_TEAM_MS: int("AUTH_CACHE_TTL_TEAM_MS", 60_000, 1),
    AUTH_CACHE_TTL_ROLE_MS: int("AUTH_CACHE_TTL_ROLE_MS", 60_000, 1),
    AUTH_CACHE_TTL_TEAMS_LIST_MS: int("AUTH_CACHE_TTL_TEAMS_LIST_MS", 60_000, 1),
    MAX_STALE_MS: int("MAX_STALE_MS", 1000, 1),
    BUS_CONFIRM_INTERVAL_MS: int("BUS_CONFIRM_INTERVAL_MS", 0, 1),
    AUTH_CACHE_L1_MAX_ENTRIES: int("AUTH_CACHE_L1_MAX_ENTRIES", 10_000, 1),
    AUTH_CACHE_ENABLED: bool("AUTH_CACHE_ENABLED", true),
    REVOCATION_POLL_MS: int("REVOCATION_POLL_MS", 500, 10),
    PUBLIC_URL: httpUrls("PUBLIC_URL"),
    OAUTH_AUTHORIZATION_SERVERS: httpUrls("OAUTH_AUTHORIZATION_SERVERS"),
    ALLOWED_ORIGINS: httpUrls("ALLOWED_ORIGINS"),
    MCP_CONFORMANCE_FIXTURES: bool("MCP_CONFORMANCE_FIXTURES", false),
    MCP_FIXTURES_TEAMS: list,
  })
  .superRefine(
    (e, ctx) => {
      const required = (name: string, value: string | undefined, schemes: string) => {
        if (value === undefined) {
          ctx.addIssue({ code: "custom", message: `${name} is required (a ${schemes} URL)` });
        }
      };
      if (e.AUTH_CACHE_STORE === "redis") required("REDIS_URL", e.REDIS_URL, "redis or rediss");
      if (e.AUTH_CACHE_STORE === "valkey") {
        required("VALKEY_URL", e.VALKEY_URL, "redis or rediss or valkey");
      }
      if (e.BUS_CONFIRM_INTERVAL_MS > 0 && e.BUS_CONFIRM_INTERVAL_MS >= e.MAX_STALE_MS) {
        ctx.addIssue({
          code: "custom",
          message: `BUS_CONFIRM_INTERVAL_MS=${e.BUS_CONFIRM_INTERVAL_MS} must be below MAX_STALE_MS=${e.MAX_STALE_MS}`,
        });
      }
      // Also when a variable above was bad (its default stands in): one run lists every problem.
    },
    { when: () => true },
  );

/** Reads and validates the configuration; throws `ConfigError` listing every bad value. */
export function loadConfig(env: Env): GatewayConfig {
  // Only the variables the schema names are read; strings only (process.env holds nothing else).
  const parsed = envSchema.safeParse({ ...env });
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => i.message));
  const e = parsed.data;
  const warnings: string[] = [];
  let secret = e.JWT_SECRET;
  if (secret === undefined) {
    secret = DEV_JWT_SECRET;
    warnings.push(
      "JWT_SECRET is not set: using the built-in development secret. Anyone can mint tokens " +
        "for this gateway; set JWT_SECRET (32+ characters) for anything but a local demo.",
    );
  }
  const backend = e.AUTH_CACHE_STORE;
  const cacheUrl =
    backend === "redis"
      ? e.REDIS_URL
      : backend === "valkey"
        ? e.VALKEY_URL
        : backend === "libsql"
          ? (e.LIBSQL_CACHE_URL ?? "file:./data/cache.db")
          : undefined;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL ?? "file:./data/demo.db",
    databaseAuthToken: e.DATABASE_AUTH_TOKEN || undefined,
    jwt: {
      secret,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      ttlSeconds: e.JWT_TTL_SECONDS,
      verifiedTokens:
        e.JWT_VERIFIED_TOKENS === 0
          ? false
          : {
              maxEntries: e.JWT_VERIFIED_TOKENS,
              maxAgeSeconds: e.JWT_VERIFIED_TOKENS_MAX_AGE_SECONDS,
            },
    },
    cache: {
      backend,
      url: cacheUrl,
      authToken: e.LIBSQL_CACHE_AUTH_TOKEN || undefined,
      prefix: e.AUTH_CACHE_PREFIX,
      ttlMs: {
        user: e.AUTH_CACHE_TTL_USER_MS,
        revocation: e.AUTH_CACHE_TTL_REVOCATION_MS,
        team: e.AUTH_CACHE_TTL_TEAM_MS,
        role: e.AUTH_CACHE_TTL_ROLE_MS,
        teamsList: e.AUTH_CACHE_TTL_TEAMS_LIST_MS,
      },
      maxStaleMs: e.MAX_STALE_MS,
      l1MaxEntries: e.AUTH_CACHE_L1_MAX_ENTRIES,
      enabled: e.AUTH_CACHE_ENABLED,
      busConfirmIntervalMs: e.BUS_CONFIRM_INTERVAL_MS || Math.min(250, e.MAX_STALE_MS),
    },
    revocationPollMs: e.REVOCATION_POLL_MS,
    publicUrl: e.PUBLIC_URL?.[0],
    authorizationServers: e.OAUTH_AUTHORIZATION_SERVERS ?? [],
    allowedOrigins: e.ALLOWED_ORIGINS,
    mcp: {
      conformanceFixtures: e.MCP_CONFORMANCE_FIXTURES,
      fixturesTeams: e.MCP_FIXTURES_TEAMS ?? ["team-platform"],
    },
    warnings,
  };
}
