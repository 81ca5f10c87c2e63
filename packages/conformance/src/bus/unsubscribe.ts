import { deepStrictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { sleep, waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

export const unsubscribeTests = busTests([
  {
    name: "unsubscribe: stops that subscription only; calling it twice is safe",
    async run({ createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const bus = await createBus();
      const stopped = await follow(bus);
      const kept = await follow(bus);
      await publisher.publish(numbered(tag, 0));
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => stopped.messages.length >= 1, "entry 0 arrived", { attempts });
      stopped.unsubscribe();
      stopped.unsubscribe();
      const confirmations = stopped.caughtUp.length;
      await publisher.publish(numbered(tag, 1));
      await waitUntil(() => kept.messages.length >= 2, "the kept subscription has 2", {
        attempts,
      });
      await sleep(confirmIntervalMs * 2 + 50);
      deepStrictEqual(numbers(stopped.messages, tag), [0]);
      deepStrictEqual(stopped.caughtUp.length, confirmations, "confirmed after unsubscribe");
      deepStrictEqual(numbers(kept.messages, tag), [0, 1]);
    },
  },
]);
