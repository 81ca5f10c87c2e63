import { strictEqual } from "node:assert/strict";
import type { BusTestContext } from "../define.ts";
import { busTests } from "../define.ts";
import { waitUntil } from "../wait.ts";
import { attemptsFor, follow, numbered, numbers, type Recorder } from "./recorder.ts";

/** Follows, applies entry 0, pauses, lets 1..4 be published, runs `hole`, resumes, and waits
 *  for a reset and for entry 5 published after it. */
async function afterHole(ctx: BusTestContext, hole: () => Promise<void> | void): Promise<Recorder> {
  const { log, createBus, confirmIntervalMs, tag } = ctx;
  const publisher = await createBus();
  const bus = await createBus();
  const f = await follow(bus);
  const attempts = attemptsFor(confirmIntervalMs);
  await publisher.publish(numbered(tag, 0));
  await waitUntil(() => f.messages.length >= 1, "entry 0 arrived", { attempts });
  await log.pause?.(bus);
  for (let i = 1; i <= 4; i++) await publisher.publish(numbered(tag, i));
  await hole();
  await log.resume?.(bus);
  await waitUntil(() => f.resets >= 1, "the follower was reset", { attempts });
  await publisher.publish(numbered(tag, 5));
  await waitUntil(() => numbers(f.messages, tag).includes(5), "entry 5 arrived", { attempts });
  strictEqual(f.resets, 1, "reset once, not on every read");
  const resetAt = f.events.findIndex((e) => e.kind === "reset");
  const after = numbers(
    f.events.slice(resetAt).flatMap((e) => (e.kind === "message" ? [e.message] : [])),
    ctx.tag,
  );
  strictEqual(after.at(-1), 5, `after the reset: ${after.join(",")}`);
  return f;
}

export const gapTests = busTests([
  {
    name: "gap: an unread entry deleted from the middle of the log resets the follower",
    needs: ["pause", "resume", "remove"],
    async run(ctx) {
      // Entry 2 goes: 3 and 4 follow a hole, so the follower cannot know what 2 said.
      const f = await afterHole(ctx, () => ctx.log.remove?.(2));
      const got = numbers(f.messages, ctx.tag);
      strictEqual(got.includes(2), false, `deleted entry delivered: ${got.join(",")}`);
      const beforeReset = f.events.slice(
        0,
        f.events.findIndex((e) => e.kind === "reset"),
      );
      const early = numbers(
        beforeReset.flatMap((e) => (e.kind === "message" ? [e.message] : [])),
        ctx.tag,
      );
      strictEqual(
        early.every((n) => n < 2),
        true,
        `entries after the hole were delivered before the reset: ${early.join(",")}`,
      );
    },
  },
  {
    name: "gap: the newest unread entry deleted resets the follower",
    needs: ["pause", "resume", "remove"],
    async run(ctx) {
      // Nothing follows the hole: only the log's head shows that entry 4 existed.
      const f = await afterHole(ctx, () => ctx.log.remove?.(0));
      strictEqual(numbers(f.messages, ctx.tag).includes(4), false);
    },
  },
  {
    name: "gap: a log trimmed of every entry the follower had not read resets it",
    needs: ["pause", "resume", "trim"],
    async run(ctx) {
      const f = await afterHole(ctx, () => ctx.log.trim?.(0));
      const got = numbers(f.messages, ctx.tag);
      strictEqual(got.filter((n) => n >= 1 && n <= 4).length, 0, `trimmed: ${got.join(",")}`);
    },
  },
]);
