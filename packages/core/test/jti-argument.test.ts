/**
 * The jti argument of the context reads: its type is checked first, its length only where L1
 * does not answer (an L1 hit implies it, see checkJtiLength). Whatever L1 holds, an over-long
 * jti is refused with the error naming it, and a jti at the limit is served.
 */
import { describe, expect, test } from "bun:test";
import { createAuthCache, MAX_IDENTIFIER_LENGTH, silentLogger } from "../src/index.ts";
import { MapStore } from "./support/map-store.ts";

const ctx = (email: string) => ({
  user: { email, fullName: "A", isAdmin: false, isActive: true },
  personalTeamId: "t1",
  isTokenRevoked: false,
});
const TOO_LONG = /jti must be at most 16384 characters/;
const NOT_A_STRING = /jti must be a string, null or undefined/;

describe("getAuthContext / getAuthContextSync: the jti argument", () => {
  test("an over-long jti is refused with L1 holding the user's contexts and revocations known", async () => {
    const cache = createAuthCache({ store: new MapStore(), logger: silentLogger });
    const atLimit = "j".repeat(MAX_IDENTIFIER_LENGTH);
    const over = "j".repeat(MAX_IDENTIFIER_LENGTH + 1);
    await cache.setAuthContext("a@x", "j1", ctx("a@x"));
    await cache.setAuthContext("a@x", atLimit, ctx("a@x"));
    await cache.invalidateRevocation("j2");
    // The entries are L1 hits: at the limit is served, sync and async.
    expect((await cache.getAuthContext("a@x", atLimit))?.personalTeamId).toBe("t1");
    expect(cache.getAuthContextSync("a@x", atLimit)?.personalTeamId).toBe("t1");
    expect(cache.getAuthContextSync("a@x", "j2")?.isTokenRevoked).toBe(true);
    // One more character: refused, whether the user has entries or not.
    for (const email of ["a@x", "nobody@x"]) {
      await expect(cache.getAuthContext(email, over)).rejects.toThrow(TOO_LONG);
      expect(() => cache.getAuthContextSync(email, over)).toThrow(TOO_LONG);
    }
    await expect(cache.getAuthContext("a@x", 7 as never)).rejects.toThrow(NOT_A_STRING);
    expect(() => cache.getAuthContextSync("a@x", 7 as never)).toThrow(NOT_A_STRING);
    // The refusals counted nothing (no hit, no miss).
    const before = cache.stats();
    expect(before.hits).toBeGreaterThan(0);
    await cache.getAuthContext("a@x", over).catch(() => {});
    expect(cache.stats().hits).toBe(before.hits);
    expect(cache.stats().misses).toBe(before.misses);
    await cache.close();
  });

  test("a disabled cache refuses an over-long jti too", async () => {
    const cache = createAuthCache({ enabled: false, logger: silentLogger });
    const over = "j".repeat(MAX_IDENTIFIER_LENGTH + 1);
    await expect(cache.getAuthContext("a@x", over)).rejects.toThrow(TOO_LONG);
    expect(() => cache.getAuthContextSync("a@x", over)).toThrow(TOO_LONG);
    expect(await cache.getAuthContext("a@x", "j1")).toBeUndefined();
    await cache.close();
  });
});
