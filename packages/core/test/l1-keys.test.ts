import { describe, expect, test } from "bun:test";
import { createAuthCache, silentLogger } from "../src/index.ts";
import { L1Cache } from "../src/l1-cache.ts";

const ctx = (email: string, team: string) => ({
  user: { email },
  personalTeamId: team,
  isTokenRevoked: false,
});

// L1 only (no store, no bus): whatever a get returns came from L1.
const local = () => createAuthCache({ logger: silentLogger });

describe("L1 entries under pairs, seen through AuthCache", () => {
  test("a context without a jti never meets one with a jti, the empty jti included", async () => {
    const cache = local();
    await cache.setAuthContext("a@x", undefined, ctx("a@x", "none"));
    await cache.setAuthContext("a@x", "", ctx("a@x", "empty"));
    await cache.setAuthContext("a@x", "j", ctx("a@x", "j"));
    // Strings that would meet if the parts were joined naively.
    await cache.setAuthContext("a@x|", "j", ctx("a@x|", "pipe"));
    expect((await cache.getAuthContext("a@x"))?.personalTeamId).toBe("none");
    expect((await cache.getAuthContext("a@x", null))?.personalTeamId).toBe("none");
    expect(cache.getAuthContextSync("a@x")?.personalTeamId).toBe("none");
    expect((await cache.getAuthContext("a@x", ""))?.personalTeamId).toBe("empty");
    expect(cache.getAuthContextSync("a@x", "")?.personalTeamId).toBe("empty");
    expect((await cache.getAuthContext("a@x", "j"))?.personalTeamId).toBe("j");
    expect((await cache.getAuthContext("a@x|", "j"))?.personalTeamId).toBe("pipe");
    expect(await cache.getAuthContext("a@x", "|j")).toBeUndefined();
    expect(cache.stats().l1Size).toBe(4);
    await cache.close();
  });

  test("users, team lists, roles and not-revoked entries never meet, whatever the ids", async () => {
    const cache = local();
    await cache.setUser("a@x", { id: "user" });
    await cache.setUserTeams("a@x", true, ["with-personal"]);
    await cache.setUserTeams("a@x", false, ["without"]);
    // Team ids equal to the internal sub-keys of the user's other entries.
    for (const teamId of ["u", "T", "t", "n", ""])
      await cache.setUserRole("a@x", teamId, `r-${teamId}`);
    await cache.setNotRevoked("a@x");
    await cache.setAuthContext("a@x", "u", ctx("a@x", "ctx-u"));
    expect(await cache.getUser("a@x")).toEqual({ id: "user" });
    expect(await cache.getUserTeams("a@x", true)).toEqual(["with-personal"]);
    expect(await cache.getUserTeams("a@x", false)).toEqual(["without"]);
    for (const teamId of ["u", "T", "t", "n", ""]) {
      expect(await cache.getUserRole("a@x", teamId)).toBe(`r-${teamId}`);
    }
    expect(await cache.isTokenRevoked("a@x")).toBe(false);
    expect(await cache.isTokenRevoked("u")).toBeUndefined();
    expect((await cache.getAuthContext("a@x", "u"))?.personalTeamId).toBe("ctx-u");
    await cache.invalidateUserRole("a@x", "u");
    expect(await cache.getUserRole("a@x", "u")).toBeUndefined();
    expect(await cache.getUserRole("a@x", "T")).toBe("r-T");
    expect(await cache.getUser("a@x")).toEqual({ id: "user" });
    await cache.invalidateUserTeams("a@x");
    expect(await cache.getUserTeams("a@x", true)).toBeUndefined();
    expect(await cache.getUserTeams("a@x", false)).toBeUndefined();
    expect(await cache.getUser("a@x")).toEqual({ id: "user" });
    await cache.invalidateUser("a@x");
    expect(await cache.getUser("a@x")).toBeUndefined();
    expect(await cache.getUserRole("a@x", "T")).toBeUndefined();
    expect(await cache.getAuthContext("a@x", "u")).toBeUndefined();
    expect(await cache.isTokenRevoked("a@x")).toBe(false);
    await cache.close();
  });

  test("an async hit after the value was replaced resolves to the new value", async () => {
    const cache = local();
    await cache.setAuthContext("a@x", "j", ctx("a@x", "first"));
    const p1 = cache.getAuthContext("a@x", "j");
    expect((await p1)?.personalTeamId).toBe("first");
    expect((await cache.getAuthContext("a@x", "j"))?.personalTeamId).toBe("first");
    await cache.setAuthContext("a@x", "j", ctx("a@x", "second"));
    expect((await cache.getAuthContext("a@x", "j"))?.personalTeamId).toBe("second");
    expect((await p1)?.personalTeamId).toBe("first");
    await cache.setUserRole("a@x", "t1", "owner");
    expect(await cache.getUserRole("a@x", "t1")).toBe("owner");
    await cache.setUserRole("a@x", "t1", null);
    expect(await cache.getUserRole("a@x", "t1")).toBeNull();
    expect(await cache.resolveUserRole("a@x", "t1", () => "never")).toBeNull();
    await cache.close();
  });

  test("revoking a jti drops its pair contexts for every email; the revoked answer wins", async () => {
    const cache = local();
    await cache.setAuthContext("a@x", "j", ctx("a@x", "a"));
    await cache.setAuthContext("b@x", "j", ctx("b@x", "b"));
    await cache.setAuthContext("a@x", "k", ctx("a@x", "k"));
    await cache.invalidateRevocation("j");
    expect((await cache.getAuthContext("a@x", "j"))?.isTokenRevoked).toBe(true);
    expect(cache.getAuthContextSync("b@x", "j")?.isTokenRevoked).toBe(true);
    expect((await cache.getAuthContext("a@x", "k"))?.personalTeamId).toBe("k");
    expect(cache.stats().l1Size).toBe(1);
    await cache.close();
  });
});

describe("L1Cache entries", () => {
  test("getEntry and getPairEntry return the live entry; its memo is cleared when replaced", () => {
    const l1 = new L1Cache<string>({ maxEntries: 10 });
    l1.set("k", "A", 100, 0);
    l1.setPair(0, "g", "s", "P", 100, 0);
    const flat = l1.getEntry("k", 1);
    const pair = l1.getPairEntry(0, "g", "s", 1);
    expect(flat?.value).toBe("A");
    expect(pair?.value).toBe("P");
    if (flat === undefined || pair === undefined) throw new Error("unreachable");
    flat.memo = "derived A";
    pair.memo = "derived P";
    expect(l1.getEntry("k", 2)?.memo).toBe("derived A");
    expect(l1.getPairEntry(0, "g", "s", 2)?.memo).toBe("derived P");
    l1.set("k", "B", 100, 2);
    l1.setPair(0, "g", "s", "Q", 100, 2);
    expect(l1.getEntry("k", 3)?.memo).toBeUndefined();
    expect(l1.getPairEntry(0, "g", "s", 3)?.memo).toBeUndefined();
    expect(l1.getPairEntry(0, "g", "s", 3)?.value).toBe("Q");
    expect(l1.getEntry("k", 100)).toBeUndefined();
    expect(l1.getPairEntry(0, "g", "s", 100)).toBeUndefined();
    expect(l1.size).toBe(0);
  });
});
