/**
 * A failover that loses an acknowledged invalidation, without the durability option: the
 * replica of the master holding both the log and a user's L2 entry is frozen and cut off, the
 * user is invalidated (the L2 delete, the fence bump and the log entry are acknowledged by the
 * master only), then the master is killed and the replica promoted: the new master still holds
 * the user's old entry. The cache that had applied the lost log entry sees the log's head go
 * back (same epoch), treats it as lost writes and invalidates everything (`gen:all` bumped, an
 * "all" entry): the resurrected entry is never served.
 */
import { afterAll, expect, test } from "bun:test";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { type AuthCache, createAuthCache } from "@authcache/core";
import { rawCommand, startCluster, type TestCluster } from "@authcache/test-servers";
import { masterOfSlot, replicaOf, slotOf, waitReplicaInSync } from "../support/cluster-faults.ts";
import { sleep } from "../support/fleet.ts";

const PREFIX = "lw:";
let cluster: TestCluster | undefined;
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await cluster?.stop();
}, 30_000);

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(50);
  }
}

test("a lost invalidation is detected by the follower that applied it, and everything is invalidated: the resurrected L2 entry is not served", async () => {
  cluster = await startCluster("redis", { replicas: 1 });
  const nodes = cluster.allNodes.map((n) => ({ host: n.host, port: n.port }));
  const store = createRedisStore({ nodes });
  const bus = createRedisBus({ nodes, prefix: PREFIX, confirmIntervalMs: 150 });
  const warnings: string[] = [];
  const cache: AuthCache = createAuthCache({
    store,
    bus,
    prefix: PREFIX,
    maxStaleMs: 1000,
    logger: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
  });
  closers.push(
    () => store.close(),
    () => bus.close(),
    async () => cache.close(),
  );

  // The follower is anchored (the log's identity exists) before anything else happens.
  await until("the cache's follower is up", async () => cache.stats().l1Trusted);

  // A user whose L2 entry lives on the master that holds the log.
  const logMaster = await masterOfSlot(cluster, await slotOf(cluster, `${PREFIX}log`));
  let email: string | undefined;
  let entryKey: string | undefined;
  for (let i = 0; i < 200 && email === undefined; i++) {
    const candidate = `u${i}@x.com`;
    await cache.resolveUser(candidate, async () => ({ email: candidate, name: "old" }));
    const keys = await rawCommand(logMaster, `KEYS ${PREFIX}user:*`);
    const m = new RegExp(`(${PREFIX}user:[^\\r\\n]*)`).exec(keys);
    if (m?.[1]) {
      email = candidate;
      entryKey = m[1];
    }
  }
  if (!email || !entryKey) throw new Error("no user entry landed on the log's master");
  const replica = await replicaOf(cluster, logMaster);
  if (!replica) throw new Error("the log's master has no replica");
  await until("the replica has the entry", async () =>
    (await rawCommand(replica, "INFO replication")).includes("master_link_status:up"),
  );
  await rawCommand(logMaster, "WAIT 1 2000");

  // The replica freezes and is cut off; the invalidation is acknowledged by the master alone.
  await cluster.pauseNode(replica);
  try {
    expect(await rawCommand(logMaster, "CLIENT KILL TYPE replica")).toBe(":1\r\n");
    await cache.invalidateUser(email);
    // Let the follower read its own entry back from the log (it applies what it reads).
    await sleep(400);
    await cluster.killNode(logMaster);
  } finally {
    await cluster.resumeNode(replica);
  }
  await cluster.waitHealthy(30_000);
  // The promoted replica never got the invalidation: the old entry is back in L2.
  expect(await rawCommand(replica, `EXISTS ${entryKey}`)).toBe(":1\r\n");

  // The follower sees the log's head behind what it applied and invalidates everything.
  await until(
    "gen:all bumped",
    async () => (await store.getCounter(`${PREFIX}gen:all`).catch(() => 0)) >= 1,
  );
  expect(warnings.some((w) => w.includes("lost acknowledged entries"))).toBe(true);
  // The resurrected entry is dead: the next read loads the new value.
  const got = await cache.resolveUser(email, async () => ({ email, name: "new" }));
  expect(got?.name).toBe("new");
  await cluster.restartNode(logMaster);
  await waitReplicaInSync(logMaster);
}, 120_000);
