import { strictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";

const FAR = () => Date.now() + 3_600_000;

export const basicTests = storeTests([
  {
    name: "basic: set then get round-trips; a missing key reads undefined",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.ctx("alice@x.com", "j1");
      strictEqual(await store.get(k), undefined);
      await store.set(k, "v1", FAR());
      strictEqual(await store.get(k), "v1");
      strictEqual(await store.get(keys.ctx("alice@x.com", "j2")), undefined);
    },
  },
  {
    name: "basic: set overwrites the value",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.user("alice@x.com");
      await store.set(k, "first", FAR());
      await store.set(k, "second", FAR());
      strictEqual(await store.get(k), "second");
    },
  },
  {
    name: "basic: keys that differ only in their tag or last part do not collide",
    async run({ createStore, keys }) {
      const store = await createStore();
      const a = keys.ctx("alice@x.com", "j1");
      const b = keys.ctx("bob@x.com", "j1");
      const c = keys.ctx("alice@x.com", "j1:x");
      const d = keys.role("alice@x.com", "{t}");
      await Promise.all([
        store.set(a, "a", FAR()),
        store.set(b, "b", FAR()),
        store.set(c, "c", FAR()),
        store.set(d, "d", FAR()),
      ]);
      strictEqual(await store.get(a), "a");
      strictEqual(await store.get(b), "b");
      strictEqual(await store.get(c), "c");
      strictEqual(await store.get(d), "d");
    },
  },
  {
    name: "basic: a second store on the same backend sees the same data",
    async run({ createStore, keys }) {
      const one = await createStore();
      const two = await createStore();
      const k = keys.user("shared@x.com");
      await one.set(k, "from one", FAR());
      strictEqual(await two.get(k), "from one");
      await two.deleteMany([k]);
      strictEqual(await one.get(k), undefined);
    },
  },
]);
