import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { sleep, waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

export const lifecycleTests = busTests([
  {
    name: "lifecycle: close stops delivery and confirmations and is idempotent",
    async run({ createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const bus = await createBus();
      strictEqual(typeof bus.name, "string");
      strictEqual(bus.name.length > 0, true);
      strictEqual(bus.dropped, 0);
      const f = await follow(bus);
      const witness = await follow(await createBus());
      await publisher.publish(numbered(tag, 0));
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => f.messages.length >= 1, "entry 0 arrived", { attempts });
      await bus.close();
      await bus.close();
      const confirmations = f.caughtUp.length;
      await publisher.publish(numbered(tag, 1));
      await waitUntil(() => witness.messages.length >= 2, "the witness has 2", { attempts });
      await sleep(confirmIntervalMs * 2 + 50);
      deepStrictEqual(numbers(f.messages, tag), [0]);
      strictEqual(f.caughtUp.length, confirmations, "confirmed after close");
      f.unsubscribe();
    },
  },
  {
    name: "lifecycle: closing one bus leaves the others publishing and following",
    async run({ createBus, confirmIntervalMs, tag }) {
      const closed = await createBus();
      const publisher = await createBus();
      const f = await follow(await createBus());
      await closed.close();
      await publisher.publish(numbered(tag, 0));
      await waitUntil(() => f.messages.length >= 1, "entry 0 arrived", {
        attempts: attemptsFor(confirmIntervalMs),
      });
      deepStrictEqual(numbers(f.messages, tag), [0]);
    },
  },
]);
