import { strictEqual } from "node:assert/strict";
import { storeTests } from "../define.ts";
import { shortTtl, waitPast, warm } from "./expiry.ts";

const FAR = () => Date.now() + 3_600_000;

export const memberTests = storeTests([
  {
    name: "members: addMember then hasMember; other members and sets are absent",
    async run({ createStore, keys }) {
      const store = await createStore();
      await store.addMember(keys.revoked, "j1", FAR());
      strictEqual(await store.hasMember(keys.revoked, "j1"), true);
      strictEqual(await store.hasMember(keys.revoked, "j2"), false);
      strictEqual(await store.hasMember(`${keys.prefix}other-set`, "j1"), false);
      await store.addMember(keys.revoked, "j:with{odd}chars é", FAR());
      strictEqual(await store.hasMember(keys.revoked, "j:with{odd}chars é"), true);
      strictEqual(await store.countMembers(keys.revoked), 2);
      strictEqual(await store.countMembers(`${keys.prefix}other-set`), 0);
    },
  },
  {
    name: "members: a member expires at its deadline; a past deadline adds nothing",
    async run({ createStore, keys, resolutionMs }) {
      const store = await createStore();
      await warm(store);
      const start = Date.now();
      const ttl = shortTtl(resolutionMs);
      const deadline = start + ttl;
      await store.addMember(keys.revoked, "short", deadline);
      await store.addMember(keys.revoked, "past", Date.now() - 1);
      const live = await store.hasMember(keys.revoked, "short");
      if (Date.now() - start < ttl / 2) strictEqual(live, true);
      strictEqual(await store.hasMember(keys.revoked, "past"), false);
      await waitPast(deadline, resolutionMs);
      strictEqual(await store.hasMember(keys.revoked, "short"), false);
    },
  },
  {
    name: "members: a later deadline wins; an earlier one never shortens it",
    async run({ createStore, keys, resolutionMs }) {
      const store = await createStore();
      await warm(store);
      const soon = Date.now() + shortTtl(resolutionMs);
      await store.addMember(keys.revoked, "extended", soon);
      await store.addMember(keys.revoked, "extended", FAR());
      await store.addMember(keys.revoked, "kept", FAR());
      await store.addMember(keys.revoked, "kept", soon);
      await store.addMember(keys.revoked, "kept", Date.now() - 1);
      await waitPast(soon, resolutionMs);
      strictEqual(await store.hasMember(keys.revoked, "extended"), true);
      strictEqual(await store.hasMember(keys.revoked, "kept"), true);
    },
  },
  {
    name: "members: countMembers counts live members only, after many expired",
    async run({ createStore, keys, resolutionMs }) {
      const store = await createStore();
      await warm(store);
      const soon = Date.now() + shortTtl(resolutionMs);
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => store.addMember(keys.revoked, `old${i}`, soon)),
      );
      await store.addMember(keys.revoked, "live1", FAR());
      await waitPast(soon, resolutionMs);
      await store.addMember(keys.revoked, "live2", FAR());
      strictEqual(await store.countMembers(keys.revoked), 2);
      strictEqual(await store.hasMember(keys.revoked, "old7"), false);
    },
  },
]);
