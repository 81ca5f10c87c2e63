/**
 * Bad input at every public entry, on real Redis with two caches sharing L2 and the log:
 * identifiers of every character class (property-based), corrupted and foreign payloads written
 * straight into L2, malformed entries written straight into the stream, and arguments of the
 * wrong type. Each gives a clear error or a counted miss: never a crash, never another user's
 * data, and nothing that was cached correctly is lost.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { type AuthCache, createAuthCache } from "@authcache/core";
import {
  createKeyCodec,
  ENVELOPE_VERSION,
  type EntryKind,
  encodeEnvelope,
  encodeMessage,
} from "@authcache/core/adapter";
import { appendArgs, logKeys, STREAM_SCRIPTS } from "@authcache/redis-protocol";
import { startServer, type TestServer } from "@authcache/test-servers";
import fc from "fast-check";
import { Redis } from "ioredis";
import { sleep } from "../support/fleet.ts";

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let server: TestServer;
let raw: Redis;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  server = await startServer("redis");
  raw = new Redis({ host: server.host, port: server.port });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  raw?.disconnect();
  await server?.stop();
});

function makeCache(prefix: string, extra: { hashIdentifiers?: { key: string } } = {}): AuthCache {
  const store = createRedisStore({ url: server.url });
  const bus = createRedisBus({ url: server.url, stream: `${prefix}log`, confirmIntervalMs: 100 });
  const cache = createAuthCache({ store, bus, prefix, logger: silent, ...extra });
  closers.push(
    () => cache.close(),
    () => bus.close(),
    () => store.close(),
  );
  return cache;
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function up(...caches: AuthCache[]): Promise<void> {
  await until("the bus to be up", () => caches.every((c) => c.stats().busState === "up"));
}

/** Identifiers of every character class: the ones that broke the reference design, control
 *  characters, lone surrogates, combining marks, empty and 10 KB. */
const identifier = fc.oneof(
  fc.constantFrom(
    "",
    "*",
    "*@corp.com",
    "?@x",
    "[a]@x",
    "a:b@x",
    "{t}@x",
    "}{",
    "\\",
    "%",
    "%25",
    "!",
    ",",
    "a\u0000b",
    "\ud800",
    "\udc00x",
    "é",
    "e\u0301",
    "😀",
    " ",
    "\r\n",
    "-",
  ),
  fc.string({ unit: fc.constantFrom(..."*?[]{}:\\%!,-_.~ \u0000é😀\ud800"), maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    maxLength: 6,
  }),
  fc.tuple(fc.constantFrom("a", "*", "é", "{"), fc.nat(99)).map(([c, n]) => c.repeat(10_000) + n),
);

describe("identifiers (property-based, real Redis, two instances)", () => {
  for (const variant of ["encoded", "hashed"] as const) {
    test(`${variant} keys: no identifier reaches another user's entries`, async () => {
      const opts = variant === "hashed" ? { hashIdentifiers: { key: "test-secret" } } : {};
      const a = makeCache(`id-${variant}:`, opts);
      const b = makeCache(`id-${variant}:`, opts);
      await up(a, b);
      let run = 0;
      // An identifier seen in an earlier run gets a run-unique suffix: its entries were
      // invalidated at the end of that run, after a get miss, and the cache refuses a set
      // within 30 s of such a miss (it cannot tell which miss a set follows). Every identifier
      // still appears unchanged the first time.
      const seen = new Set<string>();
      const fresh = (id: string): string => (seen.has(id) ? `${id}\u0001${run}` : id);
      await fc.assert(
        fc.asyncProperty(identifier, identifier, identifier, async (first, second, team) => {
          fc.pre(first !== second);
          run++;
          const e1 = fresh(first);
          const e2 = fresh(second);
          seen.add(first).add(second).add(e1).add(e2);
          // Fresh values each run, so a leftover from an earlier run cannot pass for a result.
          const u1 = { email: e1, run };
          // The get-then-set pattern: a set is tied to the miss before it, so a miss left over
          // from an earlier run (followed by an invalidation) would reject this fill, by design.
          await a.getUser(e1);
          await a.getUserRole(e1, team);
          await a.getAuthContext(e1, e2);
          await a.setUser(e1, u1);
          await a.setUserRole(e1, team, `role-of-${run}`);
          await a.setAuthContext(e1, e2, { user: u1, personalTeamId: team, isTokenRevoked: false });
          // Never another user's data, on either instance.
          for (const c of [a, b]) {
            const other = await c.getUser(e2);
            expect(other === undefined || (other as { email?: string }).email === e2).toBe(true);
            const role = await c.getUserRole(e2, team);
            expect(role === undefined || role !== `role-of-${run}`).toBe(true);
            expect(await c.getAuthContext(e2, e1)).toBeUndefined();
            expect(await c.getAuthContext(e1, undefined)).toBeUndefined();
          }
          // The other instance reads it back through L2, byte for byte.
          expect(await b.getUser(e1)).toEqual(u1);
          expect(await b.getUserRole(e1, team)).toBe(`role-of-${run}`);
          expect((await b.getAuthContext(e1, e2))?.user).toEqual(u1);
          // Invalidating the other user leaves this one alone...
          await a.invalidateUser(e2);
          expect(await b.getUser(e1)).toEqual(u1);
          expect(await a.getUserRole(e1, team)).toBe(`role-of-${run}`);
          // ...and invalidating this one clears it everywhere.
          await a.invalidateUser(e1);
          expect(await a.getUser(e1)).toBeUndefined();
          await until("b to drop the user", async () => (await b.getUser(e1)) === undefined);
          expect(await a.getUserRole(e1, team)).toBeUndefined();
        }),
        { numRuns: 60 },
      );
      expect(run).toBeGreaterThan(30);
    }, 60_000);
  }
});

describe("hashed identifiers", () => {
  test("no L2 key reveals an e-mail address, team id or jti", async () => {
    const prefix = "private:";
    const c = makeCache(prefix, { hashIdentifiers: { key: "k" } });
    await up(c);
    const email = "secret.person@corp.com";
    await c.setUser(email, { email });
    await c.setUserRole(email, "secret-team", "owner");
    await c.setAuthContext(email, "secret-jti", {
      user: { email },
      personalTeamId: null,
      isTokenRevoked: false,
    });
    await c.setNotRevoked("secret-jti2");
    await c.invalidateRevocation("secret-jti3", Date.now() + 60_000);
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await raw.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    expect(keys.length).toBeGreaterThan(3);
    expect(keys.filter((k) => k.includes("secret"))).toEqual([]);
    const members = await raw.zrange(`${prefix}revoked`, "0", "-1");
    expect(members.length).toBe(1);
    expect(members.filter((m) => m.includes("secret"))).toEqual([]);
  });
});

describe("corrupted and foreign payloads written straight into L2", () => {
  const prefix = "corrupt:";
  const codec = createKeyCodec({ prefix });
  /** An entry of the current version, kind and identity for `key`, with the value `x` (JSON
   *  text): everything right but the value, so only the kind's shape check can refuse it. */
  const entry = (key: string, kind: EntryKind, x: string): string => {
    const { i } = JSON.parse(encodeEnvelope(key, kind, 0, null, false)) as { i: unknown };
    return `{"v":${ENVELOPE_VERSION},"k":"${kind}","i":${JSON.stringify(i)},"g":0,"x":${x}}`;
  };
  const garbage: readonly (string | Buffer)[] = [
    "",
    "not json",
    "{",
    '{"v":1,"k":"user","g":0,"x":{"email":"victim@x"',
    "null",
    "[]",
    "42",
    '"a string"',
    '{"v":2,"k":"user","g":0,"x":{"email":"victim@x"}}',
    '{"v":1,"k":"role","g":0,"x":"admin"}',
    '{"v":1,"k":"user","g":0}',
    '{"v":1,"k":"user","g":-1,"x":{"email":"victim@x"}}',
    '{"v":1,"k":"user","g":"0","x":{"email":"victim@x"}}',
    '{"v":1,"k":"user","g":0,"x":"not an object"}',
    '{"v":1,"k":"user","g":0,"a":1,"x":{}}',
    // Foreign formats: other caches' envelopes, a serialised PHP/pickle-ish blob, binary.
    '{"value":{"email":"victim@x"},"expires":null}',
    '{"data":{"email":"victim@x"},"tags":[]}',
    'a:1:{s:5:"email";s:8:"victim@x";}',
    Buffer.from([0x80, 0xff, 0x00, 0xc3, 0x28, 0x81, 0x92]),
    "x".repeat(2_000_000),
  ];

  test("each one reads as a counted miss; the loader refills; nothing leaks or crashes", async () => {
    const a = makeCache(prefix);
    await up(a);
    const key = codec.user("victim@x");
    for (const [i, payload] of garbage.entries()) {
      const b = makeCache(prefix); // an empty L1: the read goes to L2
      await raw.set(key, payload);
      const before = b.stats();
      expect(await b.getUser("victim@x")).toBeUndefined();
      const after = b.stats();
      expect(after.decodeErrors + after.l2Misses).toBeGreaterThan(
        before.decodeErrors + before.l2Misses,
      );
      const fresh = { email: "victim@x", i };
      const got = await b.resolveUser("victim@x", async () => fresh);
      expect(got).toEqual(fresh);
      // The refill repaired L2 for everyone.
      expect(JSON.parse((await raw.get(key)) ?? "null").x).toEqual(fresh);
      expect(await b.close()).toBeUndefined();
    }
    // A prototype-pollution attempt is data, never a prototype.
    await raw.set(key, entry(key, "user", '{"email":"victim@x","__proto__":{"isAdmin":true}}'));
    const c = makeCache(prefix);
    const user = (await c.getUser("victim@x")) as Record<string, unknown> | undefined;
    expect(user?.email).toBe("victim@x");
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(user?.isAdmin).toBeUndefined();
  });

  test("payloads of the wrong shape for each kind are misses, not values", async () => {
    const c = makeCache(prefix);
    await up(c);
    const cases: [string, EntryKind, string, () => Promise<unknown>][] = [
      [
        codec.role("victim@x", "t1"),
        "role",
        '{"role":"admin"}',
        () => c.getUserRole("victim@x", "t1"),
      ],
      [codec.role("victim@x", "t2"), "role", "null", () => c.getUserRole("victim@x", "t2")],
      [codec.teams("victim@x", true), "teams", '["t1",2]', () => c.getUserTeams("victim@x", true)],
      [
        codec.membership("victim@x", ["t1"]),
        "mem",
        '"yes"',
        () => c.getTeamMembershipValid("victim@x", ["t1"]),
      ],
      [
        codec.ctx("victim@x", "j1"),
        "ctx",
        '{"user":"admin","personalTeamId":1}',
        () => c.getAuthContext("victim@x", "j1"),
      ],
      [
        codec.ctx("victim@x", "j2"),
        "ctx",
        '{"user":{"email":"victim@x"},"isTokenRevoked":"no"}',
        () => c.getAuthContext("victim@x", "j2"),
      ],
      [codec.notRevoked("j3"), "nr", '"false"', () => c.isTokenRevoked("j3")],
    ];
    for (const [key, kind, x, read] of cases) {
      await raw.set(key, entry(key, kind, x));
      const before = c.stats().decodeErrors;
      expect(await read()).toBeUndefined();
      expect(c.stats().decodeErrors).toBe(before + 1);
    }
  });

  test("garbage counters, a wrong-typed key and a broken revoked set never crash; revocation stays fail-closed", async () => {
    const c = makeCache(prefix);
    await up(c);
    await raw.set(codec.fence("fenced@x"), "not a number");
    const got = await c.resolveUser("fenced@x", async () => ({ email: "fenced@x" }));
    expect(got).toEqual({ email: "fenced@x" });
    await raw.hset(codec.user("hash@x"), "field", "value"); // WRONGTYPE for GET
    expect(await c.getUser("hash@x")).toBeUndefined();
    expect(await c.resolveUser("hash@x", async () => ({ email: "hash@x" }))).toEqual({
      email: "hash@x",
    });
    // The revoked set replaced by a string: status cannot be established, so it is unknown.
    await raw.set(codec.revoked(), "garbage");
    await raw.set(codec.notRevoked("jx"), entry(codec.notRevoked("jx"), "nr", "false"));
    const d = makeCache(prefix);
    expect(await d.isTokenRevoked("jx")).not.toBe(false);
    const stats = d.stats();
    expect(stats.l2Errors).toBeGreaterThan(0);
    await raw.del(codec.revoked());
  });
});

describe("malformed entries written straight into the invalidation log", () => {
  test("they are dropped and counted; followers keep going and apply the next good entry", async () => {
    const prefix = "log:";
    const keys = logKeys(`${prefix}log`);
    // Through the log's own append script (so each entry has its epoch and sequence number, as
    // another service appending to the log would write it), and as bare XADDs that skip it.
    const append = (payload: string) =>
      raw.eval(STREAM_SCRIPTS.append, 2, keys.entries, keys.meta, ...appendArgs(payload, 10_000));
    const a = makeCache(prefix);
    const b = makeCache(prefix);
    await up(a, b);
    await a.setUser("kept@x", { email: "kept@x" });
    await b.setUser("kept@x", { email: "kept@x" });
    await b.setAuthContext("victim@x", "jv", {
      user: { email: "victim@x" },
      personalTeamId: null,
      isTokenRevoked: false,
    });
    const good = encodeMessage({ type: "revoke", jti: "jv" });
    const badPayloads = [
      good.slice(0, good.length - 3),
      "",
      "{}",
      '{"v":2,"type":"user","email":"kept@x"}',
      '{"v":1,"type":"explode"}',
      '{"v":1,"type":"user","email":42}',
      '{"v":1,"type":"revoke","jti":"jv","expiresAt":"soon"}',
      '{"v":1,"type":"all","generation":1.5}',
      "x".repeat(1_100_000),
      "\u0000\uffff",
    ];
    /** Entries that skip the protocol: no sequence number, or no message field. */
    const bareEntries: string[][] = [
      ["m", good],
      ["other", good],
    ];
    const droppedBefore = [a.stats().busDropped, b.stats().busDropped];
    const resetsBefore = [a.stats().busResets, b.stats().busResets];
    for (const payload of badPayloads) await append(payload);
    for (const fields of bareEntries) await raw.xadd(keys.entries, "*", ...fields);
    await append(good);
    // Both followers applied the good entry after the garbage...
    await until("the revocation to arrive", async () => (await b.isTokenRevoked("jv")) === true);
    await until("a too", async () => (await a.isTokenRevoked("jv")) === true);
    expect((await b.getAuthContext("victim@x", "jv"))?.isTokenRevoked).toBe(true);
    // ...dropped and counted every bad one, and lost nothing else: no reset (the sequence has
    // no gap: a bad payload still moves it, a bare entry is not part of it).
    const dropped = badPayloads.length + bareEntries.length;
    expect(a.stats().busDropped - (droppedBefore[0] ?? 0)).toBe(dropped);
    expect(b.stats().busDropped - (droppedBefore[1] ?? 0)).toBe(dropped);
    expect([a.stats().busResets, b.stats().busResets]).toEqual(resetsBefore);
    expect(await b.getUser("kept@x")).toEqual({ email: "kept@x" });
    expect(await a.getUser("kept@x")).toEqual({ email: "kept@x" });
    expect(a.stats().busState).toBe("up");
    expect(b.stats().busState).toBe("up");
  });
});

describe("arguments of the wrong type", () => {
  /** [call, the argument the error must name] */
  const cases: [string, (c: AuthCache) => unknown, string][] = [
    ["getUser(123)", (c) => c.getUser(123 as never), "email"],
    ["getUser(null)", (c) => c.getUser(null as never), "email"],
    ["getAuthContext({})", (c) => c.getAuthContext({} as never), "email"],
    ["getAuthContext(e, 5)", (c) => c.getAuthContext("victim@x", 5 as never), "jti"],
    ["getAuthContextSync(e, [])", (c) => c.getAuthContextSync("victim@x", [] as never), "jti"],
    [
      "setAuthContext(e, j, 'ctx')",
      (c) => c.setAuthContext("victim@x", "j", "ctx" as never),
      "ctx",
    ],
    [
      "setAuthContext(e, j, { user: 'admin' })",
      (c) => c.setAuthContext("victim@x", "j", { user: "admin" } as never),
      "user",
    ],
    ["setUser(e, [1])", (c) => c.setUser("victim@x", [1] as never), "user"],
    [
      "setUser(e, cyclic)",
      (c) => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return c.setUser("victim@x", o);
      },
      "user",
    ],
    ["getUserRole(e, 7)", (c) => c.getUserRole("victim@x", 7 as never), "teamId"],
    ["setUserRole(e, t, 5)", (c) => c.setUserRole("victim@x", "t1", 5 as never), "role"],
    [
      "getUserTeams(e, 'yes')",
      (c) => c.getUserTeams("victim@x", "yes" as never),
      "includePersonal",
    ],
    [
      "setUserTeams(e, true, 't1')",
      (c) => c.setUserTeams("victim@x", true, "t1" as never),
      "teamIds",
    ],
    [
      "setUserTeams(e, true, [1])",
      (c) => c.setUserTeams("victim@x", true, [1] as never),
      "teamIds",
    ],
    [
      "getTeamMembershipValid(e, 't1')",
      (c) => c.getTeamMembershipValid("victim@x", "t1" as never),
      "teamIds",
    ],
    [
      "setTeamMembershipValid(e, [t], 'y')",
      (c) => c.setTeamMembershipValid("victim@x", ["t1"], "y" as never),
      "valid",
    ],
    [
      "getTeamMembershipValidSync(e, null)",
      (c) => c.getTeamMembershipValidSync("victim@x", null as never),
      "teamIds",
    ],
    ["isTokenRevoked(undefined)", (c) => c.isTokenRevoked(undefined as never), "jti"],
    ["setNotRevoked(1)", (c) => c.setNotRevoked(1 as never), "jti"],
    ["resolveUser(e, 'loader')", (c) => c.resolveUser("victim@x", "loader" as never), "loader"],
    [
      "resolveAuthContext(e, j, null)",
      (c) => c.resolveAuthContext("victim@x", "j", null as never),
      "loader",
    ],
    [
      "resolveUser(e, () => 42)",
      (c) => c.resolveUser("uncached@x", async () => 42 as never),
      "loader result",
    ],
    ["invalidateUser({})", (c) => c.invalidateUser({} as never), "email"],
    [
      "invalidateRevocation(j, 'tomorrow')",
      (c) => c.invalidateRevocation("j", "tomorrow" as never),
      "expiresAt",
    ],
    ["invalidateRevocation(j, NaN)", (c) => c.invalidateRevocation("j", Number.NaN), "expiresAt"],
    [
      "invalidateUserRole(e, undefined)",
      (c) => c.invalidateUserRole("victim@x", undefined as never),
      "teamId",
    ],
    ["invalidateTeamRoles(Symbol)", (c) => c.invalidateTeamRoles(Symbol("t") as never), "teamId"],
    ["syncRevokedTokens(42)", (c) => c.syncRevokedTokens(42 as never), "source"],
  ];

  test.each(cases)(
    "%s → TypeError naming the argument, nothing cached changes",
    async (_name, call, argument) => {
      const c = makeCache("args:");
      const victim = { email: "victim@x", role: "kept" };
      await c.setUser("victim@x", victim);
      await c.setUserRole("victim@x", "t1", "owner");
      const invalidations = c.stats().invalidations;
      let error: unknown;
      try {
        await call(c);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toContain(argument);
      expect(await c.getUser("victim@x")).toEqual(victim);
      expect(await c.getUserRole("victim@x", "t1")).toBe("owner");
      expect(c.stats().invalidations).toBe(invalidations);
    },
  );

  test("property: any value at any argument of any method gives a value or a TypeError/RangeError, and keeps what was cached", async () => {
    const c = makeCache("fuzz:");
    await c.setUser("victim@x", { email: "victim@x" });
    const methods = [
      "getAuthContext",
      "getAuthContextSync",
      "setAuthContext",
      "getUser",
      "setUser",
      "getUserRole",
      "setUserRole",
      "getUserTeams",
      "setUserTeams",
      "getTeamMembershipValid",
      "setTeamMembershipValid",
      "getTeamMembershipValidSync",
      "setTeamMembershipValidSync",
      "isTokenRevoked",
      "setNotRevoked",
      "invalidateRevocation",
      "invalidateUserRole",
      "invalidateTeamRoles",
      "invalidateUserTeams",
      "invalidateTeamMembership",
      "syncRevokedTokens",
    ] as const;
    const unexpected: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods),
        fc.array(
          fc.anything({
            withBigInt: true,
            withMap: true,
            withSet: true,
            withTypedArray: true,
            withDate: true,
            withSparseArray: true,
            withNullPrototype: true,
          }),
          { maxLength: 4 },
        ),
        async (method, args) => {
          const fn = (c as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
          try {
            await fn?.apply(c, args);
          } catch (e) {
            if (!(e instanceof TypeError || e instanceof RangeError)) {
              unexpected.push(`${method}: ${String(e)}`);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
    expect(unexpected).toEqual([]);
    expect(await c.getUser("victim@x")).toEqual({ email: "victim@x" });
  });
});
