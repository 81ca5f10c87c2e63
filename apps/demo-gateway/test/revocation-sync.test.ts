/** Revocations reach the cache from the database: all at start-up, then by a poll of the
 *  change log in the order the database assigns (never the writers' clocks). */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createClient } from "@libsql/client";
import type { Gateway } from "../src/gateway.ts";
import { ALICE, BOB, call, removeTempDirs, testGateway } from "./helpers.ts";

const opened: Gateway[] = [];
afterEach(async () => {
  for (const gw of opened.splice(0)) await gw.close();
});
afterAll(removeTempDirs);

async function insertRevocation(gw: Gateway, jti: string, revokedAt: number) {
  await gw.database.client.execute({
    sql: "INSERT INTO token_revocations (jti, revoked_at, reason) VALUES (?, ?, 'elsewhere')",
    args: [jti, revokedAt],
  });
}

describe("revocation sync", () => {
  test("start-up loads every revocation into the cache", async () => {
    const first = await testGateway();
    opened.push(first);
    const minted = await first.mintToken(ALICE);
    await insertRevocation(first, minted.jti, Date.now());
    await insertRevocation(first, "another", Date.now());

    const second = await testGateway({ env: { DATABASE_URL: first.config.databaseUrl } });
    opened.push(second);
    expect(second.revocations.stats().initialCount).toBe(2);
    expect((second.cache.stats() as { revokedCount: number }).revokedCount).toBeGreaterThanOrEqual(
      2,
    );
    const res = await call(second, "/auth/me", { token: minted.token });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe("Token has been revoked");
  });

  test("the poll applies each new row once, whatever revoked_at its writer stamped", async () => {
    const gw = await testGateway();
    opened.push(gw);
    const t1 = await gw.mintToken(ALICE);
    const t2 = await gw.mintToken(BOB);
    for (const t of [t1, t2])
      expect((await call(gw, "/auth/me", { token: t.token })).status).toBe(200);

    const now = Date.now();
    await insertRevocation(gw, t1.jti, now);
    expect(await gw.revocations.poll()).toBe(1);
    expect(await gw.revocations.poll()).toBe(0);
    // Another writer's row, committed later but stamped an hour earlier (its clock is behind
    // ours, or it is backdated to when an incident began).
    await insertRevocation(gw, t2.jti, now - 3_600_000);
    expect(await gw.revocations.poll()).toBe(1);
    for (const t of [t1, t2])
      expect((await call(gw, "/auth/me", { token: t.token })).status).toBe(401);
    expect(gw.revocations.stats()).toMatchObject({ applied: 2, pollErrors: 0, cursor: 2 });
  });

  test("with its timer, a row written straight into the database takes effect", async () => {
    const gw = await testGateway({ revocationPollMs: 20 });
    opened.push(gw);
    const minted = await gw.mintToken(ALICE);
    expect((await call(gw, "/auth/me", { token: minted.token })).status).toBe(200);
    await insertRevocation(gw, minted.jti, Date.now());
    let status = 200;
    for (let i = 0; i < 500 && status === 200; i++) {
      await Bun.sleep(10);
      status = (await call(gw, "/auth/me", { token: minted.token })).status;
    }
    expect(status).toBe(401);
    expect(gw.revocations.stats().applied).toBe(1);
  });

  test("another service's row stamped 60 s in the past takes effect within one poll interval + maxStaleMs", async () => {
    const POLL_MS = 100;
    const MAX_STALE_MS = 1000;
    const gw = await testGateway({
      revocationPollMs: POLL_MS,
      env: { MAX_STALE_MS: String(MAX_STALE_MS) },
    });
    opened.push(gw);
    // The other service: its own connection to the same database file.
    const other = createClient({ url: gw.config.databaseUrl });
    try {
      const recent = await gw.mintToken(BOB);
      const backdated = await gw.mintToken(ALICE);
      for (const t of [recent, backdated]) {
        expect((await call(gw, "/auth/me", { token: t.token })).status).toBe(200);
      }
      // A revocation stamped now (the poll's newest timestamp moves to it) ...
      await other.execute({
        sql: "INSERT INTO token_revocations (jti, revoked_at, reason) VALUES (?, ?, 'elsewhere')",
        args: [recent.jti, Date.now()],
      });
      let status = 200;
      for (let i = 0; i < 200 && status === 200; i++) {
        await Bun.sleep(10);
        status = (await call(gw, "/auth/me", { token: recent.token })).status;
      }
      expect(status).toBe(401);
      // ... then one backdated to when the incident began, a minute ago.
      const since = Date.now();
      await other.execute({
        sql: "INSERT INTO token_revocations (jti, revoked_at, reason) VALUES (?, ?, 'incident')",
        args: [backdated.jti, since - 60_000],
      });
      let seen: number | undefined;
      while (Date.now() - since < POLL_MS + MAX_STALE_MS) {
        if ((await call(gw, "/auth/me", { token: backdated.token })).status === 401) {
          seen = Date.now() - since;
          break;
        }
        await Bun.sleep(10);
      }
      const wait = since + POLL_MS + MAX_STALE_MS - Date.now();
      if (wait > 0) await Bun.sleep(wait);
      const res = await call(gw, "/auth/me", { token: backdated.token });
      expect(res.status).toBe(401);
      expect(res.json.error).toBe("Token has been revoked");
      // How soon is reported, not asserted (no wall-clock limits in tests).
      console.log(
        `backdated revocation applied after ${seen ?? "(not before the bound)"} ms (poll ${POLL_MS} ms)`,
      );
    } finally {
      other.close();
    }
  });
});

describe("revocation sync when the cache cannot take the snapshot", () => {
  test("start-up still succeeds, the error is reported, and the next poll offers the snapshot again", async () => {
    const { createRevocationSync } = await import("../src/revocation-sync.ts");
    const offered: unknown[][] = [];
    let failures = 1;
    const errors: unknown[] = [];
    const sync = createRevocationSync({
      cache: {
        async syncRevokedTokens(source) {
          const list = [...(source as Iterable<unknown>)];
          offered.push(list);
          if (failures-- > 0) throw new Error("did not reach the store");
          return list.length;
        },
        async invalidateRevocation() {},
      },
      data: {
        async loadRevocationSnapshot() {
          return { rows: [{ jti: "j1", expiresAt: null }], cursor: 0 };
        },
        async listRevocationChanges() {
          return [];
        },
      } as never,
      intervalMs: 0,
      onError: (e) => errors.push(e),
    });
    expect(await sync.start()).toBe(1);
    expect(errors.length).toBe(1);
    expect(sync.stats().pollErrors).toBe(1);
    await sync.poll();
    expect(offered).toEqual([["j1"], ["j1"]]);
    await sync.poll();
    expect(offered.length).toBe(2);
  });
});
