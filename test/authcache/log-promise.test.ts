/**
 * The staleness promise where it rides on the log, on every backend (memory, Redis, Valkey,
 * libSQL): revocations loaded by `syncRevokedTokens` reach every instance (issue 13, defect 5),
 * no identifier is accepted that the log could not carry (defect 6), and with `hashIdentifiers`
 * the log reveals no identifier while followers still apply every entry (defect 10).
 *
 * "B has applied the log up to a point" is observed, never timed: A invalidates a marker entry
 * that B holds in L1 after the step under test; the log is ordered, so once B has dropped the
 * marker (while trusting its L1) it has applied everything published before it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type AuthCache,
  type AuthContext,
  MAX_IDENTIFIER_LENGTH,
  MAX_LOG_ENTRY_BYTES,
} from "@authcache/core";
import { sleep } from "../support/fleet.ts";
import { BACKENDS, type BackendFleet, openFleet, type Servers, startServers } from "./backends.ts";

let servers: Servers;
const open: BackendFleet[] = [];

beforeAll(async () => {
  servers = await startServers();
});

afterAll(async () => {
  for (const f of open) await f.close();
  await servers?.stop();
});

const REVOKED = { user: null, personalTeamId: null, isTokenRevoked: true };

function ctxOf(email: string): AuthContext {
  return { user: { email }, personalTeamId: null, isTokenRevoked: false };
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let markers = 0;
/** Generous: the machine is shared, and libSQL writes each revocation on its own. */
const TIMEOUT = 60_000;

/** Returns once `b` has applied every entry `a` published before this call (see the header). */
async function heard(a: AuthCache, b: AuthCache): Promise<void> {
  const marker = `marker-${++markers}@x`;
  await until("B to cache the marker in L1", () => {
    b.setTeamMembershipValidSync(marker, ["t"], true);
    return b.getTeamMembershipValidSync(marker, ["t"]) === true;
  });
  await a.invalidateTeamMembership(marker);
  await until(
    "B to apply the marker",
    () => b.stats().l1Trusted && b.getTeamMembershipValidSync(marker, ["t"]) === undefined,
  );
}

/** Puts (email, jti)'s context in `b`'s L1 (a set is cached in L1 only while L1 is trusted). */
async function holdContext(b: AuthCache, email: string, jti: string): Promise<void> {
  await until("B to hold the context in L1", async () => {
    await b.setAuthContext(email, jti, ctxOf(email));
    return b.getAuthContextSync(email, jti) !== undefined;
  });
}

/** What `b` answers from L1 and its revoked set alone, once its L1 is trusted. */
async function fromL1(b: AuthCache, email: string, jti: string): Promise<unknown> {
  let got: unknown;
  await until("B to answer from L1", () => {
    got = b.getAuthContextSync(email, jti);
    return got !== undefined;
  });
  return got;
}

async function rejection(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e;
  }
  return undefined;
}

for (const kind of BACKENDS) {
  describe(`${kind}: the log carries what the promise needs`, () => {
    function fleet(options = {}): BackendFleet {
      const f = openFleet(kind, servers, options);
      open.push(f);
      return f;
    }

    test(
      "defect 5: a revocation loaded by syncRevokedTokens on A reaches B's L1 (get, getSync, resolve, isTokenRevoked)",
      async () => {
        const f = fleet();
        const a = f.instance();
        const b = f.instance();
        await holdContext(b, "held@x", "j-held");
        await until("B to cache not-revoked", async () => {
          await b.setNotRevoked("j-known");
          return (await b.isTokenRevoked("j-known")) === false;
        });
        const count = await a.syncRevokedTokens([
          "j-held",
          { jti: "j-known", expiresAt: Date.now() + 3_600_000 },
        ]);
        expect(count).toBe(2);
        await heard(a, b);
        expect(await fromL1(b, "held@x", "j-held")).toEqual(REVOKED);
        expect(await b.getAuthContext("held@x", "j-held")).toEqual(REVOKED);
        let loads = 0;
        const resolved = await b.resolveAuthContext("held@x", "j-held", () => {
          loads++;
          return ctxOf("held@x");
        });
        expect(resolved).toEqual(REVOKED);
        expect(loads).toBe(0);
        expect(await b.isTokenRevoked("j-known")).toBe(true);
      },
      TIMEOUT,
    );

    test(
      "defect 5: a large sync is published in several entries, each far below the entry limit, and B learns every jti",
      async () => {
        const f = fleet();
        const a = f.instance();
        const b = f.instance();
        const jtis = Array.from({ length: 1_200 }, (_, i) => `${"j".repeat(100)}-${i}`);
        await holdContext(b, "bulk@x", jtis[1_199] as string);
        const before = (await f.rawLog()).length;
        expect(await a.syncRevokedTokens(jtis)).toBe(1_200);
        await heard(a, b);
        expect(b.stats().revokedCount).toBeGreaterThanOrEqual(1_200);
        expect(b.stats().busDropped).toBe(0);
        expect(await fromL1(b, "bulk@x", jtis[1_199] as string)).toEqual(REVOKED);
        const entries = (await f.rawLog()).slice(before).filter((e) => e.includes('"revokeMany"'));
        expect(entries.length).toBeGreaterThan(1);
        for (const e of entries) expect(Buffer.byteLength(e)).toBeLessThan(MAX_LOG_ENTRY_BYTES / 8);
        const carried = entries.flatMap(
          (e) => (JSON.parse(e) as { revocations: { jti: string }[] }).revocations,
        );
        expect(new Set(carried.map((r) => r.jti))).toEqual(new Set(jtis));
      },
      TIMEOUT,
    );

    test(
      "defect 6: identifiers of the maximum length, worst case for escaping, are invalidated on B; longer ones are refused by every method, naming the argument",
      async () => {
        const f = fleet();
        const a = f.instance();
        const b = f.instance();
        // Control characters and lone surrogates: 6 bytes each once JSON-escaped.
        const email = "\u0001".repeat(MAX_IDENTIFIER_LENGTH);
        const jti = "\ud800".repeat(MAX_IDENTIFIER_LENGTH);
        const team = "\u001f".repeat(MAX_IDENTIFIER_LENGTH);
        await holdContext(b, email, jti);
        await until("B to hold the role", async () => {
          await b.setUserRole(email, team, "admin");
          return (await b.getUserRole(email, team)) === "admin";
        });
        await a.invalidateRevocation(jti);
        await a.invalidateTeamRoles(team);
        await heard(a, b);
        expect(await fromL1(b, email, jti)).toEqual(REVOKED);
        expect(await b.getUserRole(email, team)).toBeUndefined();

        // One past the limit, the 180 000 control characters of the report, and a 1 MB e-mail.
        const ok = "ok@x";
        for (const long of [
          "x".repeat(MAX_IDENTIFIER_LENGTH + 1),
          "\u0000".repeat(180_000),
          `${"e".repeat(1_048_576)}@x`,
        ]) {
          const calls: [string, () => unknown][] = [
            ["email", () => b.getAuthContext(long, "j")],
            ["email", () => b.getAuthContextSync(long, "j")],
            ["email", () => b.setAuthContext(long, "j", ctxOf(ok))],
            ["email", () => b.resolveAuthContext(long, "j", () => ctxOf(ok))],
            ["jti", () => b.getAuthContext(ok, long)],
            ["jti", () => b.getAuthContextSync(ok, long)],
            ["jti", () => b.setAuthContext(ok, long, ctxOf(ok))],
            ["jti", () => b.resolveAuthContext(ok, long, () => ctxOf(ok))],
            ["email", () => b.getUser(long)],
            ["email", () => b.setUser(long, { email: ok })],
            ["email", () => b.resolveUser(long, () => ({ email: ok }))],
            ["email", () => b.getUserRole(long, "t")],
            ["teamId", () => b.getUserRole(ok, long)],
            ["teamId", () => b.setUserRole(ok, long, "r")],
            ["teamId", () => b.resolveUserRole(ok, long, () => "r")],
            ["email", () => b.getUserTeams(long, true)],
            ["email", () => b.setUserTeams(long, true, ["t"])],
            ["email", () => b.resolveUserTeams(long, true, () => ["t"])],
            ["teamIds", () => b.getTeamMembershipValid(ok, ["t", long])],
            ["teamIds", () => b.setTeamMembershipValid(ok, [long], true)],
            ["teamIds", () => b.getTeamMembershipValidSync(ok, [long])],
            ["teamIds", () => b.setTeamMembershipValidSync(ok, [long], true)],
            ["teamIds", () => b.resolveTeamMembershipValid(ok, [long], () => true)],
            ["jti", () => b.isTokenRevoked(long)],
            ["jti", () => b.setNotRevoked(long)],
            ["email", () => a.invalidateUser(long)],
            ["jti", () => a.invalidateRevocation(long)],
            ["email", () => a.invalidateTeam(long)],
            ["teamId", () => a.invalidateUserRole(ok, long)],
            ["teamId", () => a.invalidateTeamRoles(long)],
            ["email", () => a.invalidateUserTeams(long)],
            ["email", () => a.invalidateTeamMembership(long)],
          ];
          for (const [argument, call] of calls) {
            const error = await rejection(call);
            expect(error).toBeInstanceOf(TypeError);
            expect(String((error as Error).message)).toContain(argument);
            expect(String((error as Error).message)).toContain(String(MAX_IDENTIFIER_LENGTH));
          }
        }
        // A sync skips (and logs) a jti it could never publish; the others still go out.
        expect(await a.syncRevokedTokens(["\u0000".repeat(180_000), "j-fine"])).toBe(1);
        await heard(a, b);
        expect(await b.isTokenRevoked("j-fine")).toBe(true);
        // Nothing above the limit was ever appended to the log.
        for (const e of await f.rawLog()) {
          expect(Buffer.byteLength(e)).toBeLessThanOrEqual(MAX_LOG_ENTRY_BYTES);
        }
        expect(a.stats().busDropped + b.stats().busDropped).toBe(0);
      },
      TIMEOUT,
    );

    test(
      "defect 10: with hashIdentifiers no log entry names an identifier, and B still applies each of them",
      async () => {
        const f = fleet({ hashIdentifiers: { key: "fleet-secret" } });
        const a = f.instance();
        const b = f.instance();
        const email = "alice.secret@example.com";
        const jti = "jti-secret-0001";
        const team = "team-secret-42";
        await holdContext(b, email, jti);
        await until("B to hold the membership check in L1", () => {
          b.setTeamMembershipValidSync(email, [team], true);
          return b.getTeamMembershipValidSync(email, [team]) === true;
        });
        await until("B to hold the role", async () => {
          await b.setUserRole(email, team, "admin");
          return (await b.getUserRole(email, team)) === "admin";
        });
        await a.invalidateRevocation(jti);
        await a.invalidateTeamMembership(email);
        await a.invalidateUserRole(email, team);
        await a.invalidateUser("bob.secret@example.com");
        await a.invalidateTeamRoles("team-secret-43");
        expect(await a.syncRevokedTokens(["jti-secret-0002"])).toBe(1);
        await heard(a, b);
        const log = await f.rawLog();
        // Five invalidations and the marker of heard() (and, since defect 5, the sync).
        expect(log.length).toBeGreaterThanOrEqual(6);
        for (const entry of log) {
          expect(entry).not.toContain("secret");
          expect(entry).not.toContain("marker");
        }
        // B dropped the context (it learns the jti itself on its next read of it)...
        expect(b.getAuthContextSync(email, jti)).not.toEqual(ctxOf(email));
        expect(await b.getAuthContext(email, jti)).toEqual(REVOKED);
        expect(b.getAuthContextSync(email, jti)).toEqual(REVOKED);
        expect(await b.isTokenRevoked("jti-secret-0002")).toBe(true);
        // ...and the membership check (the marker of heard() proved L1 is trusted).
        expect(b.getTeamMembershipValidSync(email, [team])).toBeUndefined();
        expect(await b.getUserRole(email, team)).toBeUndefined();
        expect(b.stats().busUnreadable).toBe(0);
      },
      TIMEOUT,
    );
  });
}
