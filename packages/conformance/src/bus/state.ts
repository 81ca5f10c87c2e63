import { strictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow } from "./recorder.ts";

export const stateTests = busTests([
  {
    name: "state: a listener hears up once following works; a removed one hears nothing",
    async run({ createBus, confirmIntervalMs }) {
      const bus = await createBus();
      const removed: string[] = [];
      const stop = bus.onState((s) => removed.push(s));
      stop();
      stop();
      const f = await follow(bus);
      await waitUntil(() => f.states.includes("up"), "the state is up", {
        attempts: attemptsFor(confirmIntervalMs),
      });
      strictEqual(f.states.includes("down"), false, "down without a failure");
      strictEqual(removed.length, 0);
    },
  },
]);
