import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { createDataAccess } from "../src/data-access.ts";
import { openDatabase } from "../src/db/client.ts";
import { migrate, migrations } from "../src/db/migrations.ts";
import { personalTeamId, seed } from "../src/db/seed.ts";
import { ALICE, BOB, CAROL, removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

describe("migrations and seed", () => {
  test("apply on first open and are idempotent", async () => {
    const url = `file:${join(tempDir(), "nested", "dir", "m.db")}`;
    const client = createClient({ url: url.replace("/nested/dir", "") });
    expect(await migrate(client)).toEqual(migrations.map((m) => m.id));
    expect(await migrate(client)).toEqual([]);
    // Applying the SQL again by hand (a racing process) is harmless too.
    for (const m of migrations) for (const s of m.statements) await client.execute(s);
    await seed(client);
    await seed(client);
    const users = await client.execute("SELECT count(*) AS n FROM users");
    expect(Number(users.rows[0]?.n)).toBe(4);
    client.close();

    // openDatabase creates the missing directories of a file: URL.
    const db = await openDatabase({ url });
    expect((await createDataAccess(db).getUser(ALICE))?.fullName).toBe("Alice Anders");
    db.close();
  });

  test("seeding again never undoes a change", async () => {
    const url = `file:${join(tempDir(), "s.db")}`;
    const first = await openDatabase({ url });
    const data = createDataAccess(first);
    expect(await data.setUserActive(BOB, false)).toBe(true);
    first.close();
    const second = await openDatabase({ url });
    expect((await createDataAccess(second).getUser(BOB))?.isActive).toBe(false);
    second.close();
  });
});

describe("data access", () => {
  test("loadAuthContext is one round trip with user, personal team and revocation", async () => {
    const db = await openDatabase({ url: `file:${join(tempDir(), "d.db")}` });
    const data = createDataAccess(db);
    const before = db.counter.total;
    const ctx = await data.loadAuthContext(ALICE, "jti-1");
    expect(db.counter.total - before).toBe(1);
    expect(db.counter.byMethod.get("batch")).toBe(1);
    expect(ctx).toEqual({
      user: { email: ALICE, fullName: "Alice Anders", isAdmin: false, isActive: true },
      personalTeamId: personalTeamId(ALICE),
      isTokenRevoked: false,
    });

    expect(
      await data.insertRevocation({
        jti: "jti-1",
        revokedAt: 5,
        revokedBy: null,
        reason: null,
        expiresAt: null,
      }),
    ).toBe(true);
    expect((await data.loadAuthContext(ALICE, "jti-1")).isTokenRevoked).toBe(true);
    expect(
      await data.insertRevocation({
        jti: "jti-1",
        revokedAt: 6,
        revokedBy: null,
        reason: null,
        expiresAt: null,
      }),
    ).toBe(false);
    expect(await data.loadAuthContext("nobody@example.com", "x")).toEqual({
      user: null,
      personalTeamId: null,
      isTokenRevoked: false,
    });
    expect(data.queryCounts().auth_context).toBe(3);
    expect(data.queryCounts().write_revocation).toBe(2);
    db.close();
  });

  test("teams, roles, membership and member writes", async () => {
    const db = await openDatabase({ url: `file:${join(tempDir(), "t.db")}` });
    const data = createDataAccess(db);
    expect(await data.loadUserTeams(ALICE, true)).toEqual(
      [personalTeamId(ALICE), "team-platform", "team-research"].sort(),
    );
    expect(await data.loadUserTeams(ALICE, false)).toEqual(["team-platform", "team-research"]);
    expect(await data.loadUserRole(ALICE, "team-research")).toBe("owner");
    expect(await data.loadUserRole(CAROL, "team-research")).toBeNull();
    expect(await data.loadMembershipValid(ALICE, ["team-research", "team-platform"])).toBe(true);
    expect(await data.loadMembershipValid(BOB, ["team-research", "team-platform"])).toBe(false);

    expect(await data.upsertMember("team-research", CAROL, "viewer", 1)).toBe(true);
    expect(await data.loadUserRole(CAROL, "team-research")).toBe("viewer");
    expect(await data.setMemberRole("team-research", CAROL, "member")).toBe(true);
    expect(await data.loadUserRole(CAROL, "team-research")).toBe("member");
    expect(await data.removeMember("team-research", CAROL)).toBe(true);
    expect(await data.removeMember("team-research", CAROL)).toBe(false);
    expect(await data.setMemberRole("team-research", CAROL, "owner")).toBe(false);
    expect(await data.loadUserTeams(CAROL, false)).toEqual([]);

    await data.insertRevocation({
      jti: "a",
      revokedAt: 10,
      revokedBy: null,
      reason: null,
      expiresAt: 99,
    });
    await data.insertRevocation({
      jti: "b",
      revokedAt: 20,
      revokedBy: null,
      reason: null,
      expiresAt: null,
    });
    expect((await data.listRevocations()).length).toBe(2);
    // The change log follows insertion order, assigned by the database, not revoked_at.
    const changes = await data.listRevocationChanges(0, 10);
    expect(changes.map((c) => [c.jti, c.expiresAt])).toEqual([
      ["a", 99],
      ["b", null],
    ]);
    expect(await data.listRevocationChanges(changes[0]?.seq ?? -1, 10)).toEqual([
      changes[1] as (typeof changes)[number],
    ]);
    const snapshot = await data.loadRevocationSnapshot();
    expect(snapshot.rows.length).toBe(2);
    expect(snapshot.cursor).toBe(changes[1]?.seq ?? -1);
    db.close();
  });
});
