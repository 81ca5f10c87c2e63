import { deepStrictEqual } from "node:assert/strict";
import type { InvalidationMessage } from "@authcache/core/adapter";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers } from "./recorder.ts";

export const deliveryTests = busTests([
  {
    name: "delivery: every message type reaches every follower intact",
    async run({ createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const a = await follow(await createBus());
      const b = await follow(await createBus());
      const sent: InvalidationMessage[] = [
        { type: "user", email: `${tag}@x.com` },
        { type: "revoke", jti: `${tag}-j1` },
        { type: "revoke", jti: `${tag}-j2`, expiresAt: 1_900_000_000_000 },
        { type: "role", email: `Ünïcødé ${tag}@x.com`, teamId: "{team}:1" },
        { type: "teamRoles", teamId: `${tag}-t` },
        { type: "teams", email: `${tag}@x.com` },
        { type: "membership", email: `${tag}@x.com` },
        { type: "team", email: `${tag}@x.com` },
        {
          type: "revokeMany",
          revocations: [
            { jti: `${tag}-j3`, expiresAt: 1_900_000_000_000 },
            { jti: "\u0000é😀\ud800", expiresAt: 1.5 },
          ],
        },
        // With hashIdentifiers: identifiers are HMACs and `hashed` is the key's fingerprint.
        { type: "role", email: "h-e", teamId: "h-t", hashed: `${tag}-key` },
        { type: "all", generation: 42 },
      ];
      for (const m of sent) await publisher.publish(m);
      const attempts = attemptsFor(confirmIntervalMs);
      const all = `has all ${sent.length}`;
      await waitUntil(() => a.messages.length >= sent.length, `follower a ${all}`, { attempts });
      await waitUntil(() => b.messages.length >= sent.length, `follower b ${all}`, { attempts });
      deepStrictEqual(a.messages, sent);
      deepStrictEqual(b.messages, sent);
    },
  },
  {
    name: "delivery: a follower starts at the log's end and a publisher hears itself",
    async run({ createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      await publisher.publish(numbered(tag, 0));
      const self = await follow(publisher);
      const late = await follow(await createBus());
      await publisher.publish(numbered(tag, 1));
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => late.messages.length >= 1, "the late follower has 1", { attempts });
      await waitUntil(() => self.messages.length >= 1, "the publisher has 1", { attempts });
      deepStrictEqual(numbers(late.messages, tag), [1]);
      deepStrictEqual(numbers(self.messages, tag), [1]);
    },
  },
  {
    name: "delivery: two subscriptions on one bus are independent followers",
    async run({ createBus, confirmIntervalMs, tag }) {
      const publisher = await createBus();
      const shared = await createBus();
      const one = await follow(shared);
      const two = await follow(shared);
      for (let i = 0; i < 5; i++) await publisher.publish(numbered(tag, i));
      const attempts = attemptsFor(confirmIntervalMs);
      await waitUntil(() => one.messages.length >= 5 && two.messages.length >= 5, "both have 5", {
        attempts,
      });
      deepStrictEqual(numbers(one.messages, tag), [0, 1, 2, 3, 4]);
      deepStrictEqual(numbers(two.messages, tag), [0, 1, 2, 3, 4]);
    },
  },
]);
