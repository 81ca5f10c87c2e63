/**
 * Redirections while slots move: on a 3-master cluster, 2 000 slots are resharded
 * (`--cluster reshard`, keys included) while both adapters' stores read, fill and invalidate
 * users whose keys sit in the moving slots. Every call must succeed (MOVED, ASK and TRYAGAIN
 * are the client's business), every invalidation must hold afterwards (no delete or fence bump
 * lost on the way), and the servers must have answered redirections (`INFO errorstats`), so
 * the run really went through them.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createRedisStore } from "@authcache/adapter-redis";
import { createValkeyStore } from "@authcache/adapter-valkey";
import type { Store } from "@authcache/core";
import {
  rawCommand,
  type ServerKind,
  startCluster,
  type TestCluster,
} from "@authcache/test-servers";
import { Logger as GlideLogger } from "@valkey/valkey-glide";

const USERS = 600;
const FAR = () => Date.now() + 3_600_000;
const keysOf = (u: number) => ({
  ctx: `{u${u}}:ctx:a`,
  user: `{u${u}}:user`,
  fence: `{u${u}}:fence`,
  owner: `{u${u}}:owner`,
});

function open(kind: ServerKind, cluster: TestCluster): Store {
  const nodes = cluster.nodes.map((n) => ({ host: n.host, port: n.port }));
  if (kind === "valkey") {
    GlideLogger.init("error");
    // glide times a request out after 250 ms by default; a node busy migrating a batch of keys
    // can hold a reply that long (5 of 27 000 calls once, on an idle machine). This test is about
    // redirections, not glide's default deadline (the ioredis store here has none): give it 2 s.
    return createValkeyStore({
      addresses: nodes,
      cluster: true,
      clientConfig: { requestTimeout: 2_000 },
    });
  }
  return createRedisStore({ nodes });
}

/** Redirections and TRYAGAINs the masters answered, from `INFO errorstats`. */
async function redirections(cluster: TestCluster): Promise<number> {
  let n = 0;
  for (const node of cluster.nodes) {
    const info = await rawCommand(node, "INFO errorstats");
    for (const m of info.matchAll(/errorstat_(MOVED|ASK|TRYAGAIN):count=(\d+)/g)) n += Number(m[2]);
  }
  return n;
}

for (const kind of ["redis", "valkey"] as const) {
  describe(`${kind === "redis" ? "ioredis" : "valkey-glide"} on a ${kind} cluster`, () => {
    let cluster: TestCluster | undefined;
    let store: Store | undefined;
    afterAll(async () => {
      await store?.close();
      await cluster?.stop();
    }, 30_000);

    test("a reshard under reads, fills and invalidations: no failed call, no lost invalidation", async () => {
      cluster = await startCluster(kind);
      const s = open(kind, cluster);
      store = s;
      for (let u = 0; u < USERS; u++) {
        const k = keysOf(u);
        await s.set(k.ctx, `ctx${u}`, FAR(), [k.owner]);
        await s.set(k.user, `user${u}`, FAR(), [k.owner]);
      }
      const before = await redirections(cluster);
      const topo = await cluster.topology();
      const [from, to] = topo.filter((n) => n.role === "master");
      if (!from || !to) throw new Error("expected two masters");

      let running = true;
      const errors: string[] = [];
      let calls = 0;
      const invalidated = new Set<number>();
      const note = (e: unknown) => {
        if (errors.length < 5) errors.push(String(e));
      };
      const worker = async (w: number) => {
        let u = w;
        while (running) {
          u = (u * 7 + 13) % USERS;
          const k = keysOf(u);
          calls++;
          try {
            // A context-shaped read: several keys of one slot in one MGET.
            await s.read([k.ctx, k.user, k.fence], []);
            if (invalidated.has(u)) continue;
            if (u % 3 === 0) {
              // An invalidation: fence bump, then the user's entries.
              invalidated.add(u);
              await s.incr(k.fence, FAR());
              await s.deleteOwner(k.owner);
            } else {
              // A fenced fill of another entry of the user.
              await s.setIfFence(`{u${u}}:role:t1`, "r", FAR(), { key: k.fence, value: 0 }, [
                k.owner,
              ]);
            }
          } catch (e) {
            note(e);
          }
        }
      };
      const workers = Array.from({ length: 8 }, (_, w) => worker(w));
      await cluster.reshard(from, to, 2000);
      running = false;
      await Promise.all(workers);

      if (errors.length > 0) console.log(`${kind} reshard errors:`, errors);
      const redirected = (await redirections(cluster)) - before;
      console.log(
        `${kind}: ${calls} calls during a 2000-slot reshard, ${invalidated.size} users invalidated, ${redirected} MOVED/ASK/TRYAGAIN answered, ${errors.length} failed`,
      );
      expect(errors).toEqual([]);
      expect(redirected).toBeGreaterThan(0);
      // Every invalidation held: its entries are gone and its fence moved.
      for (const u of invalidated) {
        const k = keysOf(u);
        const got = await s.read([k.ctx, k.user, `{u${u}}:role:t1`], []);
        expect(got.values).toEqual([undefined, undefined, undefined]);
        expect(await s.getCounter(k.fence)).toBeGreaterThanOrEqual(1);
      }
      expect(invalidated.size).toBeGreaterThan(10);
    }, 120_000);
  });
}
