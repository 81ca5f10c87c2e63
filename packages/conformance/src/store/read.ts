import { deepStrictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";

const FAR = () => Date.now() + 3_600_000;

export const readTests = storeTests([
  {
    name: "read: values and member checks across slots in one call, position for position",
    async run({ createStore, keys }) {
      const store = await createStore();
      const ctx = keys.ctx("alice@x.com", "j1");
      const gen = keys.gen("alice@x.com");
      const other = keys.user("bob@x.com");
      await store.set(ctx, "context", FAR());
      await store.set(other, "bob", FAR());
      await store.incr(gen);
      await store.incr(keys.genAll);
      await store.addMember(keys.revoked, "j-revoked", FAR());
      await store.addMember(keys.revoked, "j-expired", Date.now() - 1);
      const r = await store.read(
        [ctx, keys.ctx("alice@x.com", "missing"), other, keys.user("alice@x.com")],
        [
          { set: keys.revoked, member: "j1" },
          { set: keys.revoked, member: "j-revoked" },
          { set: keys.revoked, member: "j-expired" },
          { set: `${keys.prefix}no-such-set`, member: "j-revoked" },
        ],
      );
      deepStrictEqual(r.values, ["context", undefined, "bob", undefined]);
      deepStrictEqual(r.members, [false, true, false, false]);
    },
  },
  {
    name: "read: counters read as their decimal string",
    async run({ createStore, keys }) {
      // Core reads the fence counter and gen:all in the same read() as the entry.
      const store = await createStore();
      const gen = keys.gen("alice@x.com");
      await store.incr(gen);
      await store.incr(gen);
      const r = await store.read([gen, keys.genAll], []);
      deepStrictEqual(r.values, ["2", undefined]);
    },
  },
  {
    name: "read: empty requests, duplicates and members only",
    async run({ createStore, keys }) {
      const store = await createStore();
      deepStrictEqual(await store.read([], []), { values: [], members: [] });
      const k = keys.user("dup@x.com");
      await store.set(k, "d", FAR());
      const r = await store.read([k, k], []);
      deepStrictEqual(r.values, ["d", "d"]);
      await store.addMember(keys.revoked, "j", FAR());
      const m = await store.read(
        [],
        [
          { set: keys.revoked, member: "j" },
          { set: keys.revoked, member: "j" },
        ],
      );
      deepStrictEqual(m, { values: [], members: [true, true] });
    },
  },
]);
