import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

/** True when `xs` is strictly increasing (a subsequence of the published order). */
const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] as number));

export const trimTests = busTests([
  {
    name: "trim: a follower the log was trimmed past is reset, then follows again",
    needs: ["pause", "resume", "trim"],
    async run({ log, createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const bus = await createBus();
      const f = await follow(bus);
      await log.pause?.(bus);
      for (let i = 0; i < 10; i++) await publisher.publish(numbered(tag, i));
      await log.trim?.(2);
      await log.resume?.(bus);
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => f.resets >= 1, "the follower was reset", { attempts });
      await publisher.publish(numbered(tag, 10));
      await waitUntil(() => numbers(f.messages, tag).includes(10), "entry 10 arrived", {
        attempts,
      });
      const got = numbers(f.messages, tag);
      strictEqual(increasing(got), true, `out of order after a reset: ${got.join(",")}`);
      strictEqual(got.length <= 3, true, `entries trimmed away were delivered: ${got.join(",")}`);
      const resetAt = f.events.findIndex((e) => e.kind === "reset");
      const firstAfter = f.events.findIndex((e, i) => i > resetAt && e.kind === "message");
      strictEqual(
        f.events.slice(0, resetAt).some((e) => e.kind === "message"),
        false,
      );
      strictEqual(firstAfter > resetAt, true);
      strictEqual(f.resets, 1, "reset once, not on every read");
    },
  },
  {
    name: "trim: a follower within the kept part is not reset",
    needs: ["pause", "resume", "trim"],
    async run({ log, createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const bus = await createBus();
      const f = await follow(bus);
      await publisher.publish(numbered(tag, 0));
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => f.messages.length >= 1, "entry 0 arrived", { attempts });
      await log.pause?.(bus);
      for (let i = 1; i <= 3; i++) await publisher.publish(numbered(tag, i));
      await log.trim?.(5);
      await log.resume?.(bus);
      await waitUntil(() => f.messages.length >= 4, "entries 1-3 arrived", { attempts });
      deepStrictEqual(numbers(f.messages, tag), [0, 1, 2, 3]);
      strictEqual(f.resets, 0);
    },
  },
]);
