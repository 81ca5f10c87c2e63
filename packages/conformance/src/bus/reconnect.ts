import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

export const reconnectTests = busTests([
  {
    name: "reconnect: an interrupted follower reconnects by itself and loses nothing",
    needs: ["interrupt"],
    async run({ log, createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const bus = await createBus();
      const f = await follow(bus);
      const attempts = attemptsFor(confirmIntervalMs);
      await publisher.publish(numbered(tag, 0));
      await waitUntil(() => f.messages.length >= 1, "the first entry arrived", { attempts });
      await log.interrupt?.(bus);
      for (let i = 1; i <= 5; i++) await publisher.publish(numbered(tag, i));
      await waitUntil(() => f.messages.length >= 6, "all 6 entries arrived", { attempts });
      await log.interrupt?.(bus);
      await publisher.publish(numbered(tag, 6));
      await waitUntil(() => f.messages.length >= 7, "all 7 entries arrived", { attempts });
      deepStrictEqual(numbers(f.messages, tag), [0, 1, 2, 3, 4, 5, 6], "lost or repeated");
      strictEqual(f.resets, 0, "a reconnect within the log is not a reset");
    },
  },
  {
    name: "reconnect: state goes down when the connection is cut and up after reconnecting",
    needs: ["interrupt"],
    async run({ log, createBus, confirmIntervalMs }) {
      const bus = await createBus();
      const f = await follow(bus);
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => f.states.at(-1) === "up", "the follower is up", { attempts });
      const seen = f.states.length;
      // A cut that lands between two reads is seen by no command: the client reconnects before
      // the next one and nothing failed, so no "down" is owed. Cut again (three times at most)
      // until a cut interrupts a read; a follower that never reports one still fails.
      const sawDown = () => f.states.slice(seen).includes("down");
      for (let cut = 0; cut < 3 && !sawDown(); cut++) {
        // A later cut may find the connection still reconnecting (nothing to cut): that is fine.
        if (cut === 0) await log.interrupt?.(bus);
        else await log.interrupt?.(bus)?.catch(() => {});
        await waitUntil(sawDown, "down", { attempts: Math.ceil(attempts / 3) }).catch(() => {});
      }
      await waitUntil(() => sawDown() && f.states.at(-1) === "up", "down, then up again", {
        attempts,
      });
      const confirmations = f.caughtUp.length;
      await waitUntil(() => f.caughtUp.length > confirmations, "confirmations resumed", {
        attempts,
      });
    },
  },
]);
