import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";

const FAR = () => Date.now() + 3_600_000;

export const ownerTests = storeTests([
  {
    name: "owners: deleteOwner removes every key recorded under it, and only those",
    async run({ createStore, keys }) {
      const store = await createStore();
      const alice = keys.owner("alice@x.com");
      const bob = keys.owner("bob@x.com");
      const aliceKeys = [
        keys.ctx("alice@x.com", "j1"),
        keys.ctx("alice@x.com", "j2"),
        keys.user("alice@x.com"),
        keys.role("alice@x.com", "t1"),
      ];
      const bobKeys = [keys.ctx("bob@x.com", "j1"), keys.user("bob@x.com")];
      for (const k of aliceKeys) await store.set(k, "a", FAR(), [alice]);
      for (const k of bobKeys) await store.set(k, "b", FAR(), [bob]);
      const unowned = keys.user("carol@x.com");
      await store.set(unowned, "c", FAR());
      await store.deleteOwner(alice);
      deepStrictEqual(
        await store.getMany(aliceKeys),
        aliceKeys.map(() => undefined),
      );
      deepStrictEqual(await store.getMany(bobKeys), ["b", "b"]);
      strictEqual(await store.get(unowned), "c");
    },
  },
  {
    name: "owners: a key with two owners (user and team, in different slots) goes with either",
    async run({ createStore, keys }) {
      const store = await createStore();
      const team = keys.teamOwner("t1");
      const aliceRole = keys.role("alice@x.com", "t1");
      const bobRole = keys.role("bob@x.com", "t1");
      const aliceOther = keys.role("alice@x.com", "t2");
      await store.set(aliceRole, "owner", FAR(), [keys.owner("alice@x.com"), team]);
      await store.set(bobRole, "member", FAR(), [keys.owner("bob@x.com"), team]);
      await store.set(aliceOther, "viewer", FAR(), [keys.owner("alice@x.com")]);
      await store.deleteOwner(team);
      deepStrictEqual(await store.getMany([aliceRole, bobRole]), [undefined, undefined]);
      strictEqual(await store.get(aliceOther), "viewer", "a key not under the team survives");

      await store.set(bobRole, "member again", FAR(), [keys.owner("bob@x.com"), team]);
      await store.deleteOwner(keys.owner("bob@x.com"));
      strictEqual(await store.get(bobRole), undefined, "the first owner deletes it too");
    },
  },
  {
    name: "owners: deleteOwner of an unknown owner, or twice, is a no-op",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.user("alice@x.com");
      await store.set(k, "v", FAR(), [keys.owner("alice@x.com")]);
      await store.deleteOwner(keys.owner("nobody@x.com"));
      await store.deleteOwner(keys.teamOwner("no-team"));
      strictEqual(await store.get(k), "v");
      await store.deleteOwner(keys.owner("alice@x.com"));
      await store.deleteOwner(keys.owner("alice@x.com"));
      strictEqual(await store.get(k), undefined);
    },
  },
  {
    name: "owners: keys written after a deleteOwner are indexed afresh",
    async run({ createStore, keys }) {
      const store = await createStore();
      const owner = keys.owner("alice@x.com");
      const k = keys.ctx("alice@x.com", "j1");
      await store.set(k, "v1", FAR(), [owner]);
      await store.deleteOwner(owner);
      await store.set(k, "v2", FAR(), [owner]);
      strictEqual(await store.get(k), "v2");
      await store.deleteOwner(owner);
      strictEqual(await store.get(k), undefined);
    },
  },
  {
    name: "owners: an owner with many keys (300) is cleared completely",
    async run({ createStore, keys }) {
      const store = await createStore();
      const owner = keys.teamOwner("big-team");
      const ks = Array.from({ length: 300 }, (_, i) => keys.role(`m${i}@x.com`, "big-team"));
      await Promise.all(ks.map((k) => store.set(k, "r", FAR(), [owner])));
      await store.deleteOwner(owner);
      const after = await store.getMany(ks);
      strictEqual(after.filter((v) => v !== undefined).length, 0);
    },
  },
]);
