import { strictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";

export const lifecycleTests = storeTests([
  {
    name: "lifecycle: the store has a name and close() is idempotent",
    async run({ createStore }) {
      const store = await createStore();
      strictEqual(typeof store.name, "string");
      strictEqual(store.name.length > 0, true);
      await store.close();
      await store.close();
    },
  },
  {
    name: "lifecycle: closing one store leaves another working",
    async run({ createStore, keys }) {
      const one = await createStore();
      const two = await createStore();
      await one.close();
      const k = keys.user("alive@x.com");
      await two.set(k, "still here", Date.now() + 60_000);
      strictEqual(await two.get(k), "still here");
    },
  },
]);
