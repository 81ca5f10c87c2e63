import { strictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered } from "./recorder.ts";

export const confirmTests = busTests([
  {
    name: "confirm: caughtUp arrives repeatedly while idle, with current times",
    async run({ createBus, confirmIntervalMs }) {
      const before = Date.now();
      const f = await follow(await createBus());
      await waitUntil(() => f.caughtUp.length >= 3, "3 confirmations arrived", {
        attempts: attemptsFor(confirmIntervalMs, 6),
      });
      const after = Date.now();
      for (const [i, at] of f.caughtUp.entries()) {
        strictEqual(
          at >= before - 1_000 && at <= after + 1_000,
          true,
          `confirmation ${i} at ${at}`,
        );
        if (i > 0) strictEqual(at >= (f.caughtUp[i - 1] as number), true, "times go backwards");
      }
    },
  },
  {
    name: "confirm: a confirmation taken after a publish comes after its delivery",
    async run({ createBus, confirmIntervalMs, tag }) {
      // Core trusts L1 up to `at`: an entry published before `at` must already be applied.
      const publisher = await createBus();
      const f = await follow(await createBus());
      await publisher.publish(numbered(tag, 0));
      const published = Date.now();
      await waitUntil(
        () => f.caughtUp.some((at) => at > published),
        "a confirmation newer than the publish arrived",
        { attempts: attemptsFor(confirmIntervalMs, 6) },
      );
      const confirmIdx = f.events.findIndex(
        (e) => e.kind === "caughtUp" && (e.at as number) > published,
      );
      const deliveredIdx = f.events.findIndex((e) => e.kind === "message");
      strictEqual(
        deliveredIdx >= 0 && deliveredIdx < confirmIdx,
        true,
        "confirmed before delivery",
      );
    },
  },
]);
