// The two Redis adapters speak one protocol (@authcache/redis-protocol): what the ioredis store
// writes, the valkey-glide store reads, fences and deletes identically, and the reverse, on a
// Redis server and a Valkey server, standalone and 3-master cluster. "Identically" is checked
// at the byte level too: the same operations leave the same keys, types, values, scores and
// deadlines on the server whichever adapter performed them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedisStore } from "@authcache/adapter-redis";
import { createValkeyStore } from "@authcache/adapter-valkey";
import type { Store } from "@authcache/core";
import { startCluster, startServer } from "@authcache/test-servers";
import { Cluster, Redis } from "ioredis";

type Side = "ioredis" | "valkey";
const EXP = Math.ceil(Date.now() / 1000) * 1000 + 3_600_000;

/** The keys one scenario uses, under their own prefix; core's layout (user keys share a tag). */
function keysOf(p: string) {
  const u = "{u:a%40x.com}";
  return {
    entry: `${p}ctx:${u}:j1`,
    entry2: `${p}role:${u}:team1`,
    fence: `${p}gen:${u}`,
    plainCounter: `${p}gen:all`,
    userOwner: `${p}own:${u}:role`,
    teamOwner: `${p}own:{t:team1}`,
    revoked: `${p}revoked`,
  };
}

/** What the server holds under `keys`: type, value or sorted set, and deadline of each. */
async function snapshot(admin: Redis | Cluster, keys: string[]): Promise<unknown[]> {
  return Promise.all(
    keys.map(async (k) => {
      const type = await admin.type(k);
      const value =
        type === "string"
          ? await admin.get(k)
          : type === "zset"
            ? await admin.zrange(k, "0", "-1", "WITHSCORES")
            : null;
      return { k, type, value, pexpiretime: await admin.call("PEXPIRETIME", k) };
    }),
  );
}

/** A fixed sequence of writes: entries with owner indexes (one in another slot in a cluster),
 *  a fenced write, counters with and without a deadline, and a member set. */
async function writeAll(store: Store, p: string): Promise<void> {
  const k = keysOf(p);
  await store.set(k.entry, "v1", EXP, [k.userOwner, k.teamOwner]);
  expect(await store.incr(k.fence, EXP)).toBe(1);
  expect(await store.incr(k.fence, EXP - 1000)).toBe(2);
  expect(await store.incr(k.plainCounter)).toBe(1);
  expect(
    await store.setIfFence(k.entry2, "v2", EXP + 5000, { key: k.fence, value: 2 }, [
      k.userOwner,
      k.teamOwner,
    ]),
  ).toBe(true);
  await store.addMember(k.revoked, "j1", EXP);
  await store.addMember(k.revoked, "j2", EXP + 1000);
  await store.addMember(k.revoked, "j1", EXP - 1000); // an earlier deadline never shortens
}

/** Calls per read of each command in an `INFO commandstats` reply, leaving out the
 *  commands the test itself sends (CONFIG RESETSTAT, INFO). */
function commandCalls(info: string, reads: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    const name = m[1] as string;
    if (name.startsWith("config") || name === "info") continue;
    out[name] = Number(m[2]) / reads;
  }
  return out;
}

const backends = [
  ["redis", false],
  ["valkey", false],
  ["redis", true],
  ["valkey", true],
] as const;

for (const [kind, clustered] of backends) {
  describe(`mixed store on ${kind} ${clustered ? "cluster" : "standalone"}`, () => {
    let stop: () => Promise<void>;
    let admin: Redis | Cluster;
    const stores = {} as Record<Side, Store>;
    let n = 0;
    const prefix = () => `mx${++n}:`;

    beforeAll(async () => {
      if (clustered) {
        const c = await startCluster(kind);
        stop = () => c.stop();
        admin = new Cluster(c.nodes);
        stores.ioredis = createRedisStore({ nodes: c.nodes });
        stores.valkey = createValkeyStore({ addresses: c.nodes, cluster: true });
      } else {
        const s = await startServer(kind);
        stop = () => s.stop();
        admin = new Redis({ host: s.host, port: s.port });
        stores.ioredis = createRedisStore({ host: s.host, port: s.port });
        stores.valkey = createValkeyStore({ addresses: [{ host: s.host, port: s.port }] });
      }
    }, 60_000);

    afterAll(async () => {
      await stores.ioredis?.close();
      await stores.valkey?.close();
      admin?.disconnect();
      await stop?.();
    }, 60_000);

    test("the same writes leave byte-identical server state from either adapter", async () => {
      const p = prefix();
      const keys = Object.values(keysOf(p));
      await writeAll(stores.ioredis, p);
      const byIoredis = await snapshot(admin, keys);
      await Promise.all(keys.map((k) => admin.del(k)));
      await writeAll(stores.valkey, p);
      const byValkey = await snapshot(admin, keys);
      expect(byValkey).toEqual(byIoredis);
      // and the state is the one the protocol describes, not merely the same twice
      const k = keysOf(p);
      expect(byIoredis).toContainEqual({
        k: k.revoked,
        type: "zset",
        value: ["j1", String(EXP), "j2", String(EXP + 1000)],
        pexpiretime: EXP + 1000,
      });
      expect(byIoredis).toContainEqual({
        k: k.fence,
        type: "string",
        value: "2",
        pexpiretime: EXP,
      });
      expect(byIoredis).toContainEqual({
        k: k.plainCounter,
        type: "string",
        value: "1",
        pexpiretime: -1,
      });
      expect(byIoredis).toContainEqual({
        k: k.teamOwner,
        type: "zset",
        value: [k.entry, String(EXP), k.entry2, String(EXP + 5000)],
        pexpiretime: EXP + 5000,
      });
    });

    if (!clustered) {
      test("a context read costs the same two commands on either adapter (MGET + ZSCORE)", async () => {
        const p = prefix();
        const k = keysOf(p);
        await writeAll(stores.ioredis, p);
        const reads = 50;
        const perRead: Record<string, Record<string, number>> = {};
        for (const side of ["ioredis", "valkey"] as const) {
          await admin.config("RESETSTAT");
          for (let i = 0; i < reads; i++) {
            // The read core makes on an L1 miss of a context: entry, gen:all, fence, revocation.
            await stores[side].read(
              [k.entry, k.plainCounter, k.fence],
              [{ set: k.revoked, member: "j1" }],
            );
          }
          perRead[side] = commandCalls(String(await admin.info("commandstats")), reads);
        }
        expect(perRead.valkey).toEqual(perRead.ioredis as Record<string, number>);
        expect(perRead.ioredis).toEqual({ mget: 1, zscore: 1 });
      });
    }

    for (const [writer, reader] of [
      ["ioredis", "valkey"],
      ["valkey", "ioredis"],
    ] as const) {
      test(`${writer} writes, ${reader} reads entries, counters and members identically`, async () => {
        const p = prefix();
        const k = keysOf(p);
        await writeAll(stores[writer], p);
        const r = stores[reader];
        expect(
          await r.read(
            [k.entry, k.entry2, k.fence, `${p}absent`],
            [
              { set: k.revoked, member: "j1" },
              { set: k.revoked, member: "j3" },
            ],
          ),
        ).toEqual({ values: ["v1", "v2", "2", undefined], members: [true, false] });
        expect(await r.getMany([k.entry2, k.entry])).toEqual(["v2", "v1"]);
        expect(await r.get(k.entry)).toBe("v1");
        expect(await r.getCounter(k.fence)).toBe(2);
        expect(await r.hasMember(k.revoked, "j2")).toBe(true);
        expect(await r.countMembers(k.revoked)).toBe(2);
        // and the reader's writes continue the writer's state
        expect(await r.incr(k.fence, EXP)).toBe(3);
        expect(await admin.call("PEXPIRETIME", k.fence)).toBe(EXP);
      });

      test(`${writer} moves a fence, ${reader} honours it`, async () => {
        const p = prefix();
        const k = keysOf(p);
        const w = stores[writer];
        const r = stores[reader];
        expect(await w.incr(k.fence)).toBe(1);
        expect(await r.setIfFence(k.entry, "stale", EXP, { key: k.fence, value: 0 })).toBe(false);
        expect(await w.get(k.entry)).toBeUndefined();
        expect(
          await r.setIfFence(k.entry, "fresh", EXP, { key: k.fence, value: 1 }, [k.userOwner]),
        ).toBe(true);
        expect(await w.get(k.entry)).toBe("fresh");
        expect(await w.incr(k.fence)).toBe(2);
        expect(await r.setIfFence(k.entry, "late", EXP, { key: k.fence, value: 1 })).toBe(false);
        expect(await w.get(k.entry)).toBe("fresh");
      });

      test(`${writer} indexes entries of many users, ${reader} deletes them by owner`, async () => {
        const p = prefix();
        const team = `${p}own:{t:team9}`;
        const entries = Array.from({ length: 40 }, (_, i) => `${p}role:{u:user${i}}:team9`);
        const userOwner = `${p}own:{u:user0}:role`;
        const w = stores[writer];
        await Promise.all(
          entries.map((e, i) => w.set(e, `r${i}`, EXP, i === 0 ? [userOwner, team] : [team])),
        );
        expect((await w.getMany(entries)).filter((v) => v !== undefined)).toHaveLength(40);
        await stores[reader].deleteOwner(team);
        expect(await w.getMany(entries)).toEqual(entries.map(() => undefined));
        expect(await admin.exists(team)).toBe(0);
        // the user's own index still lists its (now gone) entry: deleting it is harmless
        await stores[reader].deleteOwner(userOwner);
        expect(await admin.exists(userOwner)).toBe(0);
      });
    }
  });
}
