import { deepStrictEqual, equal } from "node:assert/strict";
import type { StoreWrite } from "@authcache/core/adapter";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

/** The ordered publish (`InvalidationBus.publishAfter`), for a bus that offers it. That its
 *  writes are visible when the entry is (with a store of the same keyspace) is the adapter's
 *  own test; here: the two declared together, and entries in order with `publish`, once. */
export const orderedTests = busTests([
  {
    name: "ordered publish: publishAfter and keyspace come together; its entries keep the log's order with publish's, each once",
    async run({ createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const offered = typeof publisher.publishAfter === "function";
      equal(
        typeof publisher.keyspace === "string" && publisher.keyspace.length > 0,
        offered,
        "a bus declares keyspace exactly when it offers publishAfter",
      );
      const publishAfter = publisher.publishAfter;
      if (publishAfter === undefined) return;
      const a = await follow(await createBus());
      // Writes that leave nothing behind: a missing key deleted, a member already expired.
      const writes: StoreWrite[] = [
        { op: "delete", keys: [`${tag}:missing`] },
        { op: "addMember", set: `${tag}:set`, member: "m", expiresAt: 1 },
      ];
      for (let i = 0; i < 6; i++) {
        if (i % 2 === 0) await publisher.publish(numbered(tag, i));
        else await publishAfter.call(publisher, i === 3 ? [] : writes, numbered(tag, i));
      }
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => a.messages.length >= 6, "the follower has 6", { attempts });
      deepStrictEqual(numbers(a.messages, tag), [0, 1, 2, 3, 4, 5]);
      equal(a.resets, 0);
    },
  },
]);
