import { deepStrictEqual, strictEqual } from "node:assert/strict";
import type { InvalidationMessage } from "@authcache/core/adapter";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow } from "./recorder.ts";

const PUBLISHERS = 3;
const EACH = 20;

export const orderTests = busTests([
  {
    name: "order: every follower sees one total order of concurrent publishers",
    async run({ createBus, confirmIntervalMs, tag }) {
      const publishers = [];
      for (let p = 0; p < PUBLISHERS; p++) publishers.push(await createBus());
      const followers = [];
      for (const p of publishers) followers.push(await follow(p));
      followers.push(await follow(await createBus()));
      const msg = (p: number, i: number): InvalidationMessage => ({
        type: "role",
        email: `${tag}@x.com`,
        teamId: `${p}:${i}`,
      });
      await Promise.all(
        publishers.map(async (bus, p) => {
          for (let i = 0; i < EACH; i++) await bus.publish(msg(p, i));
        }),
      );
      const total = PUBLISHERS * EACH;
      const attempts = attemptsFor(confirmIntervalMs);
      for (const f of followers)
        await waitUntil(() => f.messages.length >= total, `a follower has ${total}`, { attempts });
      const first = followers[0]?.messages ?? [];
      strictEqual(first.length, total);
      for (const f of followers) deepStrictEqual(f.messages, first, "followers disagree on order");
      for (let p = 0; p < PUBLISHERS; p++) {
        const own = first.filter((m) => m.type === "role" && m.teamId.startsWith(`${p}:`));
        deepStrictEqual(
          own,
          Array.from({ length: EACH }, (_, i) => msg(p, i)),
          `publisher ${p}'s messages out of order`,
        );
      }
    },
  },
]);
