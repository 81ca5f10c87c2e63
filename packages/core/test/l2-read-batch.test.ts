import { describe, expect, test } from "bun:test";
import { createKeyCodec } from "../src/adapter.ts";
import { createAuthCache, silentLogger } from "../src/index.ts";
import { MapStore } from "./support/map-store.ts";

const ctx = (i: number) => ({
  user: { email: `u${i}@x.com`, n: i },
  personalTeamId: `t${i}`,
  isTokenRevoked: false,
});

async function filled(store: MapStore, n: number): Promise<void> {
  const writer = createAuthCache({ store, logger: silentLogger });
  for (let i = 0; i < n; i++) await writer.setAuthContext(`u${i}@x.com`, `j${i}`, ctx(i));
  writer.close();
}

describe("L1 misses of one turn share one store.read (issue 18)", () => {
  test("64 concurrent misses: one read, every reader gets its own entry", async () => {
    const store = new MapStore();
    await filled(store, 64);
    const reader = createAuthCache({ store, logger: silentLogger });
    const before = store.calls.get("read") ?? 0;
    const got = await Promise.all(
      Array.from({ length: 64 }, (_, i) => reader.getAuthContext(`u${i}@x.com`, `j${i}`)),
    );
    expect((store.calls.get("read") ?? 0) - before).toBe(1);
    for (const [i, v] of got.entries()) expect(v?.user).toEqual({ email: `u${i}@x.com`, n: i });
    expect(reader.stats().l2Hits).toBe(64);
    reader.close();
  });

  test("a revoked jti in the batch is answered revoked; the others are hits", async () => {
    const store = new MapStore();
    await filled(store, 8);
    const revoker = createAuthCache({ store, logger: silentLogger });
    await revoker.invalidateRevocation("j3");
    revoker.close();
    const reader = createAuthCache({ store, logger: silentLogger });
    const got = await Promise.all(
      Array.from({ length: 8 }, (_, i) => reader.getAuthContext(`u${i}@x.com`, `j${i}`)),
    );
    for (const [i, v] of got.entries()) {
      if (i === 3) expect(v?.isTokenRevoked).toBe(true);
      else expect(v?.user).toEqual({ email: `u${i}@x.com`, n: i });
    }
    reader.close();
  });

  test("a malformed fence counter fails its own read only (a counted miss)", async () => {
    const store = new MapStore();
    await filled(store, 4);
    const codec = createKeyCodec({ prefix: "authcache:" });
    await store.set(codec.fence("u2@x.com"), "not a counter", Date.now() + 60_000);
    const reader = createAuthCache({ store, logger: silentLogger });
    const got = await Promise.all(
      Array.from({ length: 4 }, (_, i) => reader.getAuthContext(`u${i}@x.com`, `j${i}`)),
    );
    expect(got[2]).toBeUndefined();
    for (const i of [0, 1, 3]) expect(got[i]?.user).toEqual({ email: `u${i}@x.com`, n: i });
    const s = reader.stats();
    expect(s.l2Errors).toBe(1);
    expect(s.l2Hits).toBe(3);
    reader.close();
  });

  test("a failed batch read is a counted miss for every read of it", async () => {
    const store = new MapStore();
    await filled(store, 5);
    const reader = createAuthCache({ store, logger: silentLogger });
    store.read = () => Promise.reject(new Error("L2 down"));
    const got = await Promise.all(
      Array.from({ length: 5 }, (_, i) => reader.getAuthContext(`u${i}@x.com`, `j${i}`)),
    );
    expect(got.every((v) => v === undefined)).toBe(true);
    expect(reader.stats().l2Errors).toBe(5);
    reader.close();
  });
});
