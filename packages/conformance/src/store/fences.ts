import { strictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";

const FAR = () => Date.now() + 3_600_000;

export const fenceTests = storeTests([
  {
    name: "fences: a missing counter reads 0 and lets the write through",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.ctx("alice@x.com", "j1");
      const fence = { key: keys.gen("alice@x.com"), value: 0 };
      strictEqual(await store.setIfFence(k, "filled", FAR(), fence), true);
      strictEqual(await store.get(k), "filled");
    },
  },
  {
    name: "fences: a moved fence writes nothing and keeps the old value",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.user("alice@x.com");
      const gen = keys.gen("alice@x.com");
      await store.set(k, "old", FAR());
      strictEqual(await store.incr(gen), 1);
      strictEqual(await store.setIfFence(k, "stale", FAR(), { key: gen, value: 0 }), false);
      strictEqual(await store.get(k), "old");
      const fresh = keys.ctx("alice@x.com", "j9");
      strictEqual(await store.setIfFence(fresh, "stale", FAR(), { key: gen, value: 0 }), false);
      strictEqual(await store.get(fresh), undefined);
      strictEqual(await store.setIfFence(fresh, "ahead", FAR(), { key: gen, value: 2 }), false);
      strictEqual(await store.get(fresh), undefined);
    },
  },
  {
    name: "fences: the current value writes and records the owners",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.role("alice@x.com", "t1");
      const gen = keys.gen("alice@x.com");
      await store.incr(gen);
      await store.incr(gen);
      const owners = [keys.owner("alice@x.com"), keys.teamOwner("t1")];
      strictEqual(await store.setIfFence(k, "admin", FAR(), { key: gen, value: 2 }, owners), true);
      strictEqual(await store.get(k), "admin");
      await store.deleteOwner(keys.teamOwner("t1"));
      strictEqual(await store.get(k), undefined);
      strictEqual(await store.setIfFence(k, "admin", FAR(), { key: gen, value: 2 }, owners), true);
      await store.deleteOwner(keys.owner("alice@x.com"));
      strictEqual(await store.get(k), undefined);
    },
  },
  {
    name: "fences: a passing fence with a past deadline leaves no live value",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.user("alice@x.com");
      await store.set(k, "live", FAR());
      await store.setIfFence(k, "dead", Date.now() - 1, { key: keys.gen("alice@x.com"), value: 0 });
      strictEqual(await store.get(k), undefined);
    },
  },
  {
    name: "fences: a fill racing an invalidation is either rejected or deleted after it",
    async run({ createStore, keys }) {
      // The race core relies on: fill reads fence 0; invalidation bumps it and deletes the owner;
      // whichever order the two land in, no stale value survives.
      const store = await createStore();
      const gen = keys.gen("alice@x.com");
      const owner = keys.owner("alice@x.com");
      for (let i = 0; i < 20; i++) {
        const k = keys.ctx("alice@x.com", `race${i}`);
        const fence = { key: gen, value: await store.getCounter(gen) };
        await Promise.all([
          store.setIfFence(k, "stale", FAR(), fence, [owner]),
          store.incr(gen).then(() => store.deleteOwner(owner)),
        ]);
        strictEqual(await store.get(k), undefined, `round ${i} left a stale value`);
      }
    },
  },
]);
