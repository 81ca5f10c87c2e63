import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { keySlot } from "@authcache/redis-protocol";
import { rawCommand } from "@authcache/test-servers";
import type { GlideClusterClient } from "@valkey/valkey-glide";
import { createValkeyStore, type ValkeyStore } from "../src/index.ts";
import { adminClient, type Backend, startBackend } from "./helpers.ts";

const FAR = () => Date.now() + 3_600_000;

/** Sums one field of INFO over every node (e.g. `cmdstat_del` calls). */
async function sumInfo(b: Backend, section: string, pattern: RegExp): Promise<number> {
  let total = 0;
  for (const node of b.nodes) {
    const info = await rawCommand(node, `INFO ${section}`);
    for (const m of info.matchAll(pattern)) total += Number(m[1]);
  }
  return total;
}

const crossSlotErrors = (b: Backend) =>
  sumInfo(b, "errorstats", /errorstat_CROSSSLOT:count=(\d+)/g);

// Cluster hazards get their own tests: a one-node suite cannot find them.
for (const kind of ["valkey", "redis"] as const) {
  describe(`${kind} cluster: cross-slot work`, () => {
    let b: Backend;
    let store: ValkeyStore;
    let admin: GlideClusterClient;
    beforeAll(async () => {
      b = await startBackend(kind, "cluster");
      store = createValkeyStore({ addresses: b.addresses, cluster: true });
      admin = (await adminClient(b)) as GlideClusterClient;
    }, 60_000);
    afterAll(async () => {
      admin?.close();
      await store?.close();
      await b?.stop();
    }, 60_000);

    test("keySlot agrees with the server's CLUSTER KEYSLOT", async () => {
      const keys = [
        "plain",
        "ac:ctx:{u:alice%40x.com}:j1",
        "ac:own:{t:team-1}",
        "ac:nr:{j:abc}",
        "ac:revoked",
        "{}x",
        "a{b}c{d}",
      ];
      for (const k of keys) {
        const server = await admin.customCommand(["CLUSTER", "KEYSLOT", k]);
        expect(keySlot(k)).toBe(Number(server));
      }
    });

    test("deleting a team whose members' keys span every node: per-slot DELs, no CROSSSLOT", async () => {
      const team = "ac:own:{t:big}";
      const keys = Array.from({ length: 300 }, (_, i) => `ac:role:{u:m${i}%40x.com}:big`);
      const slots = new Set(keys.map(keySlot));
      expect(slots.size).toBeGreaterThan(250); // really spread over the cluster
      for (const k of keys) {
        const user = `ac:own:${k.slice(k.indexOf("{"), k.indexOf("}") + 1)}`;
        await store.set(k, "member", FAR(), [user, team]);
      }
      const survivor = "ac:role:{u:m0%40x.com}:other";
      await store.set(survivor, "viewer", FAR(), ["ac:own:{u:m0%40x.com}"]);
      const errorsBefore = await crossSlotErrors(b);
      for (const node of b.nodes) await rawCommand(node, "CONFIG RESETSTAT");

      await store.deleteOwner(team);

      const remoteSlots = [...slots].filter((s) => s !== keySlot(team)).length;
      const dels = await sumInfo(b, "commandstats", /cmdstat_del:calls=(\d+)/g);
      // One DEL per other slot, plus at most two inside the script (local members, the index).
      expect(dels).toBeGreaterThanOrEqual(remoteSlots);
      expect(dels).toBeLessThanOrEqual(remoteSlots + 2);
      expect((await store.getMany(keys)).filter((v) => v !== undefined)).toEqual([]);
      expect(await admin.exists([team])).toBe(0);
      expect(await store.get(survivor)).toBe("viewer");
      expect(await crossSlotErrors(b)).toBe(errorsBefore);
    });

    test("invalidating a user with entries under a team index leaves the team index consistent", async () => {
      const team = "ac:own:{t:t2}";
      const user = "ac:own:{u:zed%40x.com}";
      const role = "ac:role:{u:zed%40x.com}:t2";
      const ctx = "ac:ctx:{u:zed%40x.com}:j1";
      await store.set(role, "admin", FAR(), [user, team]);
      await store.set(ctx, "{}", FAR(), [user]);
      await store.deleteOwner(user);
      expect(await store.getMany([role, ctx])).toEqual([undefined, undefined]);
      await store.set(role, "admin again", FAR(), [user, team]);
      await store.deleteOwner(team);
      expect(await store.get(role)).toBeUndefined();
    });

    test("reads, getMany and deleteMany over many slots in one call each", async () => {
      const keys = Array.from({ length: 200 }, (_, i) => `ac:user:{u:r${i}%40x.com}`);
      await Promise.all(keys.map((k, i) => store.set(k, `v${i}`, FAR())));
      await store.addMember("ac:revoked", "j-1", FAR());
      // Checks in one set are one ZMSCORE: a member past its deadline still reads as absent.
      await store.addMember("ac:revoked", "j-3", Date.now() + 40);
      await Bun.sleep(60);
      const r = await store.read(keys, [
        { set: "ac:revoked", member: "j-1" },
        { set: "ac:revoked", member: "j-2" },
        { set: "ac:revoked", member: "j-3" },
      ]);
      expect(r.values).toEqual(keys.map((_, i) => `v${i}`));
      expect(r.members).toEqual([true, false, false]);
      await store.deleteMany(keys);
      expect((await store.getMany(keys)).every((v) => v === undefined)).toBe(true);
      expect(await crossSlotErrors(b)).toBe(0);
    });

    test("a fence outside the entry's slot is refused with a clear error, not CROSSSLOT", async () => {
      await expect(
        store.setIfFence("ac:user:{u:a%40x.com}", "v", FAR(), { key: "ac:gen:all", value: 0 }),
      ).rejects.toThrow(/fence .* cluster slot/);
      expect(await crossSlotErrors(b)).toBe(0);
    });
  });
}
