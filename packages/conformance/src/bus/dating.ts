import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { busTests } from "../define.ts";
import { sleep, waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

const LATENCY_MS = 150;
const PUBLISHES = 10;

export const datingTests = busTests([
  {
    name: "dating: with 150 ms latency each way, no confirmation is dated after a publish it had not delivered",
    needs: ["delay"],
    timeoutMs: 30_000,
    async run({ log, createBus, confirmIntervalMs, tag }) {
      // Core trusts L1 up to a confirmation's date: dated by a reply's arrival instead of its
      // read's sending, a confirmation vouches for entries appended while the reply travelled.
      const publisher = await createBus();
      const bus = await createBus();
      const f = await follow(bus);
      const attempts = attemptsFor(confirmIntervalMs + 2 * LATENCY_MS, 8);
      await log.delay?.(bus, LATENCY_MS);
      await sleep(3 * LATENCY_MS);
      const done: number[] = [];
      for (let i = 0; i < PUBLISHES; i++) {
        // Spread over several read cycles, so some land while a reply is on its way.
        await sleep(Math.floor(Math.random() * (confirmIntervalMs + 2 * LATENCY_MS)));
        await publisher.publish(numbered(tag, i));
        done.push(Date.now());
      }
      const last = done.at(-1) as number;
      await waitUntil(
        () => f.messages.length >= PUBLISHES && f.caughtUp.some((at) => at > last),
        "every entry arrived and a later confirmation",
        { attempts },
      );
      for (const e of f.events) {
        if (e.kind !== "caughtUp") continue;
        const published = done.filter((t) => t <= (e.at as number)).length;
        const seen = numbers(
          f.events
            .slice(0, f.events.indexOf(e))
            .flatMap((x) => (x.kind === "message" ? [x.message] : [])),
          tag,
        ).length;
        strictEqual(
          seen >= published,
          true,
          `a confirmation at ${e.at} vouches for ${published} publishes, ${seen} were delivered`,
        );
      }
      strictEqual(f.resets, 0);
      deepStrictEqual(
        numbers(f.messages, tag),
        Array.from({ length: PUBLISHES }, (_, i) => i),
      );
    },
  },
]);
