import { deepStrictEqual, equal, strictEqual } from "node:assert/strict";
import type { StoreWrite } from "@authcache/core/adapter";
import { type BusTestContext, busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

/** Writes that leave nothing behind: a missing key deleted, a member already expired. */
const harmless = (tag: string): StoreWrite[] => [
  { op: "delete", keys: [`${tag}:missing`] },
  { op: "addMember", set: `${tag}:set`, member: "m", expiresAt: 1 },
];

/** A publisher and its `publishAfter` bound to it, or undefined when its bus offers none
 *  (then it must declare no keyspace either: checked by the first test). */
async function orderedPublisher(
  ctx: BusTestContext,
): Promise<((i: number) => Promise<void>) | undefined> {
  const publisher = await ctx.createBus();
  const publishAfter = publisher.publishAfter;
  if (publishAfter === undefined) {
    equal(publisher.keyspace, undefined, "a bus without publishAfter declares no keyspace");
    return undefined;
  }
  return (i) => publishAfter.call(publisher, harmless(ctx.tag), numbered(ctx.tag, i));
}

/** True when `xs` is strictly increasing (a subsequence of the published order). */
const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] as number));

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
      const writes = harmless(tag);
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
  {
    name: "ordered publish: publishAfter into a deleted log creates a new one that followers follow after a reset",
    needs: ["recreate"],
    async run(ctx) {
      const publish = await orderedPublisher(ctx);
      if (publish === undefined) return;
      const f = await follow(await ctx.createBus());
      const attempts = attemptsFor(ctx.confirmIntervalMs);
      await publish(0);
      await waitUntil(() => f.messages.length >= 1, "entry 0 arrived", { attempts });
      await ctx.log.recreate?.();
      // The script finds no log: it must start a new one (a new epoch), not append to nothing
      // or fail, and the follower must see the change of log as a reset.
      await publish(1);
      await waitUntil(() => f.resets >= 1, "the follower was reset", { attempts });
      await publish(2);
      await waitUntil(() => numbers(f.messages, ctx.tag).includes(2), "entry 2 arrived", {
        attempts,
      });
      const got = numbers(f.messages, ctx.tag);
      strictEqual(got[0], 0);
      strictEqual(got.at(-1), 2, got.join(","));
      strictEqual(increasing(got), true, `out of order: ${got.join(",")}`);
      strictEqual(f.resets, 1, "reset once, not on every read");
    },
  },
  {
    name: "ordered publish: a follower that publishAfter's entries and a trim left behind is reset, then follows them again",
    needs: ["pause", "resume", "trim"],
    async run(ctx) {
      const publish = await orderedPublisher(ctx);
      if (publish === undefined) return;
      const bus = await ctx.createBus();
      const f = await follow(bus);
      const attempts = attemptsFor(ctx.confirmIntervalMs);
      await publish(0);
      await waitUntil(() => f.messages.length >= 1, "entry 0 arrived", { attempts });
      await ctx.log.pause?.(bus);
      for (let i = 1; i <= 8; i++) await publish(i);
      await ctx.log.trim?.(2);
      // Appended after the trim by the script: the log's head moved on, the follower's
      // position is gone from it.
      await publish(9);
      await ctx.log.resume?.(bus);
      await waitUntil(() => f.resets >= 1, "the follower was reset", { attempts });
      await publish(10);
      await waitUntil(() => numbers(f.messages, ctx.tag).includes(10), "entry 10 arrived", {
        attempts,
      });
      const got = numbers(f.messages, ctx.tag);
      strictEqual(increasing(got), true, `out of order: ${got.join(",")}`);
      const resetAt = f.events.findIndex((e) => e.kind === "reset");
      const before = numbers(
        f.events.slice(0, resetAt).flatMap((e) => (e.kind === "message" ? [e.message] : [])),
        ctx.tag,
      );
      deepStrictEqual(before, [0], "entries past the trimmed hole delivered before the reset");
      strictEqual(
        got.some((n) => n >= 1 && n <= 6),
        false,
        `trimmed entries delivered: ${got.join(",")}`,
      );
      strictEqual(f.resets, 1, "reset once, not on every read");
    },
  },
]);
