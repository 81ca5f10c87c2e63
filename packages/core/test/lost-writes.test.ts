import { expect, test } from "bun:test";
import { createAuthCache } from "../src/index.ts";
import { ManualBus, MapStore } from "./support/map-store.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(2);
  expect(check()).toBe(true);
}

test("a reset with cause 'lost' invalidates everything (gen:all bumped, an 'all' entry); a 'gap' or 'epoch' reset only flushes L1", async () => {
  const store = new MapStore();
  const bus = new ManualBus();
  const warnings: string[] = [];
  const cache = createAuthCache({
    store,
    bus,
    maxStaleMs: 1000,
    logger: { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} },
  });
  await until(() => bus.followers.length === 1);
  const follower = bus.followers[0];
  if (!follower) throw new Error("no follower");
  follower.handlers.caughtUp(Date.now());
  await cache.resolveUser("a@x.com", async () => ({ email: "a@x.com" }));

  follower.handlers.reset("gap");
  follower.handlers.reset("epoch");
  follower.handlers.reset();
  await sleep(20);
  expect(bus.log).toEqual([]);
  expect(await store.getCounter("authcache:gen:all")).toBe(0);

  follower.handlers.reset("lost");
  await until(() => bus.log.length === 1);
  expect(bus.log[0]).toEqual({ type: "all", generation: 1 });
  expect(await store.getCounter("authcache:gen:all")).toBe(1);
  expect(warnings.some((w) => w.includes("lost acknowledged entries"))).toBe(true);
  expect(cache.stats().busResets).toBe(4);
  await cache.close();
});

test("the recovery after lost writes is retried until the store and the bus take it", async () => {
  const store = new MapStore();
  const bus = new ManualBus();
  const cache = createAuthCache({
    store,
    bus,
    maxStaleMs: 1000,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  await until(() => bus.followers.length === 1);
  bus.failPublish = true;
  bus.followers[0]?.handlers.reset("lost");
  await sleep(120);
  expect(bus.log).toEqual([]);
  bus.failPublish = false;
  await until(() => bus.log.some((m) => m.type === "all"));
  await cache.close();
});
