import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";
import { shortTtl, waitPast, warm } from "./expiry.ts";

export const counterTests = storeTests([
  {
    name: "counters: incr starts at 1 and counts; getCounter reads 0 when missing",
    async run({ createStore, keys }) {
      const store = await createStore();
      const gen = keys.gen("alice@x.com");
      strictEqual(await store.getCounter(gen), 0);
      strictEqual(await store.incr(gen), 1);
      strictEqual(await store.incr(gen), 2);
      strictEqual(await store.getCounter(gen), 2);
      strictEqual(await store.getCounter(keys.genAll), 0);
      strictEqual(await store.incr(keys.genAll), 1);
      strictEqual(await store.getCounter(gen), 2, "counters are independent");
    },
  },
  {
    name: "counters: concurrent incr loses no update",
    async run({ createStore, keys }) {
      const one = await createStore();
      const gen = keys.gen("busy@x.com");
      const results = await Promise.all(Array.from({ length: 50 }, () => one.incr(gen)));
      deepStrictEqual(
        [...results].sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      strictEqual(await one.getCounter(gen), 50);
    },
  },
  {
    name: "counters: incr with a deadline lives at least until the latest one",
    async run({ createStore, keys, resolutionMs }) {
      const store = await createStore();
      await warm(store);
      const gen = keys.gen("alice@x.com");
      const soon = Date.now() + shortTtl(resolutionMs);
      strictEqual(await store.incr(gen, soon), 1);
      strictEqual(await store.incr(gen, Date.now() + 3_600_000), 2);
      await waitPast(soon, resolutionMs);
      strictEqual(await store.getCounter(gen), 2);
      strictEqual(await store.incr(gen, soon), 3, "an earlier deadline never shortens it");
      strictEqual(await store.getCounter(gen), 3);
    },
  },
]);
