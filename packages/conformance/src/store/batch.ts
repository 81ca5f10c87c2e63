import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";

const FAR = () => Date.now() + 3_600_000;

export const batchTests = storeTests([
  {
    name: "batch: getMany keeps positions across slots, with gaps and duplicates",
    async run({ createStore, keys }) {
      const store = await createStore();
      const users = ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"];
      for (const u of users) await store.set(keys.user(u), u, FAR());
      const ask = [
        keys.user("a@x.com"),
        keys.user("nobody@x.com"),
        keys.user("c@x.com"),
        keys.genAll,
        keys.user("e@x.com"),
        keys.user("a@x.com"),
        keys.ctx("b@x.com", "j"),
        keys.user("b@x.com"),
      ];
      deepStrictEqual(await store.getMany(ask), [
        "a@x.com",
        undefined,
        "c@x.com",
        undefined,
        "e@x.com",
        "a@x.com",
        undefined,
        "b@x.com",
      ]);
      deepStrictEqual(await store.getMany([]), []);
    },
  },
  {
    name: "batch: deleteMany removes keys across slots and ignores absent ones",
    async run({ createStore, keys }) {
      const store = await createStore();
      const gone = [keys.user("a@x.com"), keys.ctx("b@x.com", "j1"), keys.notRevoked("j1")];
      const kept = keys.user("c@x.com");
      for (const k of [...gone, kept]) await store.set(k, "v", FAR());
      await store.deleteMany([...gone, keys.user("absent@x.com")]);
      deepStrictEqual(await store.getMany(gone), [undefined, undefined, undefined]);
      strictEqual(await store.get(kept), "v");
      await store.deleteMany([]);
      await store.deleteMany(gone);
      strictEqual(await store.get(kept), "v");
    },
  },
  {
    name: "batch: a large getMany and deleteMany (500 keys over many slots)",
    async run({ createStore, keys }) {
      const store = await createStore();
      const ks = Array.from({ length: 500 }, (_, i) => keys.user(`user${i}@x.com`));
      await Promise.all(ks.map((k, i) => store.set(k, String(i), FAR())));
      const back = await store.getMany(ks);
      deepStrictEqual(
        back,
        ks.map((_, i) => String(i)),
      );
      await store.deleteMany(ks);
      const after = await store.getMany(ks);
      strictEqual(
        after.every((v) => v === undefined),
        true,
      );
    },
  },
]);
