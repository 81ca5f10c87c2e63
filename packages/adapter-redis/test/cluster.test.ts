// Cluster hazards a single-node suite cannot find: work for one user spans slots (its team
// indexes, the revoked set, gen:all), and nothing may ever raise CROSSSLOT.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createAuthCache, type Logger } from "@authcache/core";
import { keySlot } from "@authcache/redis-protocol";
import { startCluster, type TestCluster } from "@authcache/test-servers";
import { Cluster } from "ioredis";
import { createRedisBus, createRedisStore, type RedisStore } from "../src/index.ts";

let cluster: TestCluster;
let admin: Cluster;

beforeAll(async () => {
  cluster = await startCluster("redis");
  admin = new Cluster(cluster.nodes);
}, 60_000);

afterAll(async () => {
  await admin?.quit();
  await cluster?.stop();
});

test("keySlot matches the server's CLUSTER KEYSLOT", async () => {
  const keys = ["", "a", "user:{u:alice%40x.com}:1", "{}", "{}x", "a{b}c{d}", "x{", "}{y}", "é{ü}"];
  for (let i = 0; i < 50; i++) keys.push(`k${i}:{t:${i * 7919}}`);
  for (const k of keys) expect(keySlot(k)).toBe(Number(await admin.cluster("KEYSLOT", k)));
});

test("deleteOwner of a team index deletes members in every slot, with no CROSSSLOT", async () => {
  const store: RedisStore = createRedisStore({ nodes: cluster.nodes });
  try {
    const exp = Date.now() + 60_000;
    const team = "cs:own:{t:team1}";
    const keys = Array.from({ length: 40 }, (_, i) => `cs:role:{u:user${i}%40x.com}:team1`);
    const slots = new Set(keys.map(keySlot));
    expect(slots.size).toBeGreaterThan(10); // the members really are spread over the cluster
    for (const [i, k] of keys.entries()) {
      await store.set(k, `r${i}`, exp, [`cs:own:{u:user${i}%40x.com}`, team]);
    }
    expect((await store.getMany(keys)).every((v) => v !== undefined)).toBe(true);
    await store.deleteOwner(team);
    expect(await store.getMany(keys)).toEqual(keys.map(() => undefined));
    expect(await admin.exists(team)).toBe(0);
    // Each user's own index still names its (now deleted) entry: harmless, and pruned later.
    await store.deleteOwner("cs:own:{u:user0%40x.com}");
  } finally {
    await store.close();
  }
});

test("read spans slots: values, the fence counter, gen:all and the revoked set in one call", async () => {
  const store = createRedisStore({ nodes: cluster.nodes });
  try {
    const exp = Date.now() + 60_000;
    await store.set("rd:ctx:{u:a}:j1", "v", exp, ["rd:own:{u:a}"]);
    await store.incr("rd:gen:{u:a}", exp);
    await store.incr("rd:gen:all");
    await store.addMember("rd:revoked", "j1", exp);
    const keys = ["rd:ctx:{u:a}:j1", "rd:gen:{u:a}", "rd:gen:all"];
    expect(new Set([...keys, "rd:revoked"].map(keySlot)).size).toBeGreaterThan(1);
    const sent: string[] = [];
    const client = store.client as Cluster;
    const original = client.sendCommand.bind(client);
    client.sendCommand = (command, stream, node) => {
      sent.push(command.name);
      return original(command, stream, node);
    };
    const r = await store.read(keys, [
      { set: "rd:revoked", member: "j1" },
      { set: "rd:revoked", member: "j2" },
    ]);
    expect(r).toEqual({ values: ["v", "1", "1"], members: [true, false] });
    // One plain command per slot of values (the user's, gen:all's) and one ZMSCORE for the
    // member checks of the revoked set's slot (several checks in one set), all sent at once;
    // no script.
    expect(new Set(keys.slice(0, 2).map(keySlot)).size).toBe(1);
    expect(sent.sort()).toEqual(["mget", "mget", "zmscore"]);
  } finally {
    await store.close();
  }
});

test("an AuthCache on a cluster invalidates users, teams and everything with no CROSSSLOT", async () => {
  const store = createRedisStore({ nodes: cluster.nodes });
  const bus = createRedisBus({ nodes: cluster.nodes, stream: "cs:log", confirmIntervalMs: 100 });
  const errors: unknown[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (...a: unknown[]) => errors.push(a),
    error: (...a: unknown[]) => errors.push(a),
  };
  const cache = createAuthCache({ store, bus, prefix: "cs1:", logger });
  try {
    const users = Array.from({ length: 12 }, (_, i) => `member${i}@corp.com`);
    for (const [i, email] of users.entries()) {
      await cache.setUser(email, { email });
      await cache.setAuthContext(email, `jti-${i}`, {
        user: { email },
        personalTeamId: `p${i}`,
        isTokenRevoked: false,
      });
      await cache.setUserRole(email, "team-1", "member");
      await cache.setUserRole(email, "team-2", i % 2 ? "owner" : null);
      await cache.setUserTeams(email, true, ["team-1", "team-2"]);
      await cache.setTeamMembershipValid(email, ["team-2", "team-1"], true);
    }
    await cache.invalidateTeamRoles("team-1");
    await cache.invalidateUser(users[0] as string);
    await cache.invalidateTeam(users[1] as string);
    await cache.invalidateUserRole(users[2] as string, "team-2");
    await cache.invalidateUserTeams(users[3] as string);
    await cache.invalidateTeamMembership(users[4] as string);
    await cache.invalidateRevocation("jti-5", Date.now() + 60_000);
    // The invalidations reached L2, and only what they named: a second instance (no L1 of
    // its own) sees none of the dropped entries and all of the others.
    const other = createAuthCache({ store, prefix: "cs1:", logger });
    try {
      expect(await other.getUserRole(users[6] as string, "team-1")).toBeUndefined();
      expect(await other.getUserRole(users[7] as string, "team-2")).toBe("owner");
      expect(await other.getUserRole(users[6] as string, "team-2")).toBeNull();
      expect(await other.getUser(users[0] as string)).toBeUndefined();
      expect(await other.getUser(users[1] as string)).toEqual({ email: users[1] });
      expect(await other.getUserTeams(users[3] as string, true)).toBeUndefined();
      expect(await other.getUserTeams(users[4] as string, true)).toEqual(["team-1", "team-2"]);
      expect(await other.isTokenRevoked("jti-5")).toBe(true);
    } finally {
      await other.close();
    }
    await cache.invalidateAll();
    // `other` may keep what it read in L1 for maxStaleMs (it has no bus): ask a fresh one.
    const fresh = createAuthCache({ store, prefix: "cs1:", logger });
    try {
      expect(await fresh.getUser(users[1] as string)).toBeUndefined();
      expect(await fresh.getUserRole(users[7] as string, "team-2")).toBeUndefined();
      expect(await fresh.isTokenRevoked("jti-5")).toBe(true);
    } finally {
      await fresh.close();
    }
    expect(cache.stats().l2Errors).toBe(0);
    expect(errors).toEqual([]);
  } finally {
    await cache.close();
    await bus.close();
    await store.close();
  }
});
