import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { sleep, waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

export const pauseTests = busTests([
  {
    name: "pause: a paused follower neither delivers nor confirms, then catches up in order",
    needs: ["pause", "resume"],
    async run({ log, createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const other = await follow(await createBus());
      const bus = await createBus();
      const f = await follow(bus);
      await log.pause?.(bus);
      // A read already in flight when the pause began may still land; after that, silence.
      await sleep(confirmIntervalMs + 50);
      const confirmations = f.caughtUp.length;
      for (let i = 0; i < 5; i++) await publisher.publish(numbered(tag, i));
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => other.messages.length >= 5, "the other follower has 5", { attempts });
      await sleep(confirmIntervalMs * 2 + 50);
      strictEqual(f.messages.length, 0, "a paused follower delivered");
      strictEqual(f.caughtUp.length, confirmations, "a paused follower confirmed");
      await log.resume?.(bus);
      await waitUntil(() => f.messages.length >= 5, "the resumed follower has 5", { attempts });
      deepStrictEqual(numbers(f.messages, tag), [0, 1, 2, 3, 4]);
      await waitUntil(() => f.caughtUp.length > confirmations, "it confirms again", { attempts });
      strictEqual(f.resets, 0);
    },
  },
]);
