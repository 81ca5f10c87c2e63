/**
 * Every write of `src/writes.ts`, made through instance A's HTTP routes, while instance B (same
 * database, shared L2 and bus) holds the old answer in its cache: once the write has returned
 * and `maxStaleMs` has passed, B no longer serves the old answer. A answers the new one at once.
 * One table, one row per write (a write with two directions has two rows); a control shows
 * that the same change made in the database without its invalidation does stay stale on B, so
 * the rows measure the invalidations, not the cache's TTL.
 *
 * On the memory adapter (one store, two bus connections) and on Redis (each instance its own
 * store and bus, as two processes would have).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { startServer, type TestServer } from "@authcache/test-servers";
import { loadConfig } from "../src/config.ts";
import { createGateway, type Gateway } from "../src/gateway.ts";
import { WRITE_NAMES, type Writes } from "../src/writes.ts";
import { ADMIN, ALICE, CAROL, call, removeTempDirs, SECRET, tempDir } from "./helpers.ts";

const MAX_STALE_MS = 500;
const TEAM = "team-research";

type WriteName = keyof Writes;

/** Writes that leave nothing cached to go stale, and why. */
const NOTHING_TO_INVALIDATE: Partial<Record<WriteName, string>> = {
  recordToken: "it records a token with a new jti, which no cache holds anything about",
};

interface Fleet {
  readonly a: Gateway;
  readonly b: Gateway;
  /** Carol's tokens: unscoped, scoped to TEAM, one to revoke, one to log out. */
  readonly tokens: { carol: string; carolScoped: string; revoked: string; logout: string };
}

interface Row {
  readonly write: WriteName;
  readonly what: string;
  /** What instance `gw` answers now (read through its cache). */
  observe(gw: Gateway, fleet: Fleet): Promise<unknown>;
  readonly before: unknown;
  /** The write, through A's HTTP route. */
  act(fleet: Fleet): Promise<void>;
  readonly after: unknown;
}

const me = async (gw: Gateway, token: string) => {
  const res = await call(gw, "/auth/me", { token });
  return res.status === 200 ? (res.json.teams as string[]).includes(TEAM) : res.json.error;
};
const roleIn = async (gw: Gateway, token: string) => {
  const res = await call(gw, `/teams/${TEAM}/role`, { token });
  return res.status === 200 ? res.json.role : res.status;
};
const admin = async (fleet: Fleet, method: string, path: string, body?: unknown) => {
  const token = (await fleet.a.mintToken(ADMIN)).token;
  const res = await call(fleet.a, path, { token, method, ...(body ? { body } : {}) });
  expect(res.status).toBeLessThan(300);
};

const ROWS: readonly Row[] = [
  {
    write: "addMember",
    what: "Carol added to the team: her team list and her role in it",
    observe: async (gw, f) => ({
      inTeam: await me(gw, f.tokens.carol),
      role: await roleIn(gw, f.tokens.carol),
    }),
    before: { inTeam: false, role: 403 },
    act: (f) => admin(f, "POST", `/teams/${TEAM}/members`, { email: CAROL, role: "viewer" }),
    after: { inTeam: true, role: "viewer" },
  },
  {
    write: "changeRole",
    what: "Carol's role in the team",
    observe: (gw, f) => roleIn(gw, f.tokens.carol),
    before: "viewer",
    act: (f) => admin(f, "PATCH", `/teams/${TEAM}/members/${CAROL}`, { role: "member" }),
    after: "member",
  },
  {
    write: "removeMember",
    what: "Carol removed: her team list, her role, her token scoped to the team",
    observe: async (gw, f) => ({
      inTeam: await me(gw, f.tokens.carol),
      role: await roleIn(gw, f.tokens.carol),
      scoped: (await call(gw, "/auth/me", { token: f.tokens.carolScoped })).status,
    }),
    before: { inTeam: true, role: "member", scoped: 200 },
    act: (f) => admin(f, "DELETE", `/teams/${TEAM}/members/${CAROL}`),
    after: { inTeam: false, role: 403, scoped: 403 },
  },
  {
    write: "setUserActive",
    what: "Carol deactivated",
    observe: (gw, f) => me(gw, f.tokens.carol),
    before: false,
    act: (f) => admin(f, "POST", `/admin/users/${CAROL}/deactivate`),
    after: "Account disabled",
  },
  {
    write: "setUserActive",
    what: "Carol activated again",
    observe: (gw, f) => me(gw, f.tokens.carol),
    before: "Account disabled",
    act: (f) => admin(f, "POST", `/admin/users/${CAROL}/activate`),
    after: false,
  },
  {
    write: "revokeToken",
    what: "a token revoked by an admin",
    observe: (gw, f) => me(gw, f.tokens.revoked),
    before: false,
    act: async (f) => {
      const jti = JSON.parse(atob(f.tokens.revoked.split(".")[1] ?? "")).jti as string;
      await admin(f, "POST", `/admin/tokens/${jti}/revoke`);
    },
    after: "Token has been revoked",
  },
  {
    write: "revokeToken",
    what: "a token revoked by its holder (logout)",
    observe: (gw, f) => me(gw, f.tokens.logout),
    before: false,
    act: async (f) => {
      expect(
        (await call(f.a, "/auth/logout", { token: f.tokens.logout, method: "POST" })).status,
      ).toBe(200);
    },
    after: "Token has been revoked",
  },
];

test("the table covers every write", () => {
  const covered = new Set<string>([
    ...ROWS.map((r) => r.write),
    ...Object.keys(NOTHING_TO_INVALIDATE),
  ]);
  expect([...WRITE_NAMES].filter((w) => !covered.has(w))).toEqual([]);
});

interface Backend {
  start(): Promise<{ a: Gateway; b: Gateway; stop(): Promise<void> }>;
}

const env = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: `file:${join(tempDir(), "shared.db")}`,
  JWT_SECRET: SECRET,
  MAX_STALE_MS: String(MAX_STALE_MS),
  BUS_CONFIRM_INTERVAL_MS: "100",
  ...extra,
});

const BACKENDS: Record<string, Backend> = {
  memory: {
    async start() {
      const store = createMemoryStore();
      const bus = createMemoryBus({ confirmIntervalMs: 100 });
      const config = loadConfig(env());
      const a = await createGateway({ config, store, bus, revocationPollMs: 0 });
      const b = await createGateway({ config, store, bus: bus.connect(), revocationPollMs: 0 });
      return {
        a,
        b,
        async stop() {
          await a.close();
          await b.close();
          await bus.close();
        },
      };
    },
  },
  redis: {
    async start() {
      const server: TestServer = await startServer("redis");
      const config = loadConfig(env({ AUTH_CACHE_STORE: "redis", REDIS_URL: server.url }));
      // Each its own store and bus (closed by the gateway), as two processes would have.
      const a = await createGateway({ config, revocationPollMs: 0 });
      const b = await createGateway({ config, revocationPollMs: 0 });
      return {
        a,
        b,
        async stop() {
          await a.close();
          await b.close();
          await server.stop();
        },
      };
    },
  },
};

afterAll(removeTempDirs);

for (const [name, backend] of Object.entries(BACKENDS)) {
  describe(`every write, seen by a second instance on ${name}`, () => {
    let fleet: Fleet;
    let stop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      const started = await backend.start();
      stop = started.stop;
      const mint = async (email: string) => (await started.a.mintToken(email)).token;
      fleet = {
        a: started.a,
        b: started.b,
        tokens: {
          carol: await mint(CAROL),
          // Minting checks nothing; the scope is checked (through the cache) on each request.
          carolScoped: (await started.a.mintToken(CAROL, { teams: [TEAM] })).token,
          revoked: await mint(CAROL),
          logout: await mint(CAROL),
        },
      };
    }, 30_000);

    afterAll(async () => {
      await stop?.();
    });

    for (const row of ROWS) {
      test(`${row.write}: ${row.what}`, async () => {
        // Both instances hold the old answer (B twice: the second read is a cache hit).
        expect(await row.observe(fleet.b, fleet)).toEqual(row.before);
        expect(await row.observe(fleet.b, fleet)).toEqual(row.before);
        expect(await row.observe(fleet.a, fleet)).toEqual(row.before);

        await row.act(fleet);
        const since = Date.now();
        // The writing instance answers the new value at once.
        expect(await row.observe(fleet.a, fleet)).toEqual(row.after);
        const wait = since + MAX_STALE_MS - Date.now();
        if (wait > 0) await Bun.sleep(wait);
        expect(await row.observe(fleet.b, fleet)).toEqual(row.after);
      });
    }

    test("control: the same kind of change without its invalidation stays stale on B", async () => {
      const alice = (await fleet.a.mintToken(ALICE)).token;
      const before = await roleIn(fleet.b, alice);
      expect(before).toBe("owner");
      expect(await roleIn(fleet.b, alice)).toBe("owner");
      // The database row only, as a write that bypassed src/writes.ts would do.
      expect(await fleet.a.data.setMemberRole(TEAM, ALICE, "member")).toBe(true);
      await Bun.sleep(MAX_STALE_MS);
      expect(await roleIn(fleet.b, alice)).toBe("owner");
      // Through the writes module it is seen.
      expect(await fleet.a.writes.changeRole(TEAM, ALICE, "viewer")).toBe(true);
      await Bun.sleep(MAX_STALE_MS);
      expect(await roleIn(fleet.b, alice)).toBe("viewer");
    });
  });
}
