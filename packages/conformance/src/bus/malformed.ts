import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { encodeMessage } from "@authcache/core/adapter";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

export const malformedTests = busTests([
  {
    name: "malformed: undecodable entries are dropped and counted; following continues",
    needs: ["appendRaw"],
    async run({ log, createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const bus = await createBus();
      const f = await follow(bus);
      const before = bus.dropped;
      await publisher.publish(numbered(tag, 0));
      const bad = [
        "not json",
        "",
        '{"v":1,"type":"nope"}',
        '{"v":2,"type":"user","email":"a@x.com"}',
        '{"v":1,"type":"user","email":42}',
        "null",
      ];
      for (const raw of bad) await log.appendRaw?.(raw);
      await log.appendRaw?.(encodeMessage(numbered(tag, 1)));
      await publisher.publish(numbered(tag, 2));
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => f.messages.length >= 3, "the valid entries arrived", { attempts });
      deepStrictEqual(numbers(f.messages, tag), [0, 1, 2]);
      strictEqual(f.messages.length, 3, "a malformed entry was delivered");
      strictEqual(bus.dropped - before, bad.length);
      strictEqual(f.resets, 0);
    },
  },
]);
