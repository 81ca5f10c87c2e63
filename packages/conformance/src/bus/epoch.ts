import { strictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

export const epochTests = busTests([
  {
    name: "epoch: a recreated log that outgrows the follower before its next read resets it",
    needs: ["pause", "resume", "recreate"],
    async run({ log, createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const bus = await createBus();
      const f = await follow(bus);
      const attempts = attemptsFor(confirmIntervalMs);
      for (let i = 0; i < 3; i++) await publisher.publish(numbered(tag, i));
      await waitUntil(() => f.messages.length >= 3, "entries 0-2 arrived", { attempts });
      await log.pause?.(bus);
      await log.recreate?.();
      // The new log holds more entries than the follower had read: positions alone would
      // look like "3 more entries to read".
      for (let i = 10; i < 16; i++) await publisher.publish(numbered(tag, i));
      await log.resume?.(bus);
      await waitUntil(() => f.resets >= 1, "the follower was reset", { attempts });
      await publisher.publish(numbered(tag, 20));
      await waitUntil(() => numbers(f.messages, tag).includes(20), "entry 20 arrived", {
        attempts,
      });
      strictEqual(f.resets, 1, "reset once, not on every read");
      const resetAt = f.events.findIndex((e) => e.kind === "reset");
      const before = numbers(
        f.events.slice(0, resetAt).flatMap((e) => (e.kind === "message" ? [e.message] : [])),
        tag,
      );
      strictEqual(before.join(","), "0,1,2", "entries of the new log delivered before the reset");
    },
  },
  {
    name: "epoch: publishing into a deleted log creates a new one that followers follow after a reset",
    needs: ["recreate"],
    async run({ log, createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const f = await follow(await createBus());
      const attempts = attemptsFor(confirmIntervalMs);
      await publisher.publish(numbered(tag, 0));
      await waitUntil(() => f.messages.length >= 1, "entry 0 arrived", { attempts });
      await log.recreate?.();
      await publisher.publish(numbered(tag, 1));
      await waitUntil(() => f.resets >= 1, "the follower was reset", { attempts });
      await publisher.publish(numbered(tag, 2));
      await waitUntil(() => numbers(f.messages, tag).includes(2), "entry 2 arrived", {
        attempts,
      });
      const got = numbers(f.messages, tag);
      strictEqual(got[0], 0);
      strictEqual(got.at(-1), 2, got.join(","));
    },
  },
]);
