import { strictEqual } from "node:assert/strict";
import type { Store } from "@authcache/core";
import { storeTests } from "../define.ts";
import { sleep } from "../wait.ts";

const FAR = () => Date.now() + 3_600_000;

/** A TTL long enough that the read right after the write happens before it on a slow machine,
 *  and short enough to keep the suite quick; scaled by the backend's resolution. */
export const shortTtl = (resolutionMs: number) => Math.max(150, resolutionMs * 20);

/** Waits until `deadline` has passed by a margin of a few resolution steps. */
export async function waitPast(deadline: number, resolutionMs: number): Promise<void> {
  const margin = resolutionMs * 3 + 20;
  const ms = deadline + margin - Date.now();
  if (ms > 0) await sleep(ms);
}

/** One round trip before taking a deadline, so connection setup does not eat into the TTL. */
export async function warm(store: Store): Promise<void> {
  await store.get("conformance:warm-up");
}

export const expiryTests = storeTests([
  {
    name: "expiry: a value is live before its deadline and gone after it",
    async run({ createStore, keys, resolutionMs }) {
      const store = await createStore();
      await warm(store);
      const k = keys.ctx("alice@x.com", "short");
      const ttl = shortTtl(resolutionMs);
      const start = Date.now();
      const deadline = start + ttl;
      await store.set(k, "soon gone", deadline);
      const live = await store.get(k);
      // Only a machine stalled for half the TTL could make this read late; then it proves nothing.
      if (Date.now() - start < ttl / 2) strictEqual(live, "soon gone");
      await waitPast(deadline, resolutionMs);
      strictEqual(await store.get(k), undefined);
      const r = await store.read([k], []);
      strictEqual(r.values[0], undefined);
      strictEqual((await store.getMany([k]))[0], undefined);
    },
  },
  {
    name: "expiry: a deadline already past is accepted and stores nothing",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.user("past@x.com");
      await store.set(k, "never", Date.now() - 1_000);
      strictEqual(await store.get(k), undefined);
      await store.set(k, "never either", 0);
      strictEqual(await store.get(k), undefined);
    },
  },
  {
    name: "expiry: a past deadline over a live value removes it",
    async run({ createStore, keys }) {
      const store = await createStore();
      const k = keys.user("replaced@x.com");
      await store.set(k, "live", FAR());
      await store.set(k, "dead on arrival", Date.now() - 1);
      strictEqual(await store.get(k), undefined);
    },
  },
  {
    name: "expiry: a rewrite moves the deadline both ways",
    async run({ createStore, keys, resolutionMs }) {
      const store = await createStore();
      await warm(store);
      const longer = keys.user("longer@x.com");
      const shorter = keys.user("shorter@x.com");
      const deadline = Date.now() + shortTtl(resolutionMs);
      await store.set(longer, "short first", deadline);
      await store.set(longer, "then long", FAR());
      await store.set(shorter, "long first", FAR());
      await store.set(shorter, "then short", deadline);
      await waitPast(deadline, resolutionMs);
      strictEqual(await store.get(longer), "then long");
      strictEqual(await store.get(shorter), undefined);
    },
  },
]);
