import { describe, expect, test } from "bun:test";
import type { InvalidationMessage } from "@authcache/core/adapter";
import { createMemoryBus, type MemoryBus } from "../src/index.ts";

const msg = (i: number): InvalidationMessage => ({ type: "user", email: `u${i}@x.com` });
const tick = () => new Promise((r) => setTimeout(r, 0));
/** Polls `check` every 2 ms, at most 500 times (a bounded loop, not a speed limit). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(check()).toBe(true);
}

function record(bus: MemoryBus) {
  const seen: string[] = [];
  const rec = { seen, resets: 0, confirms: 0, stop: () => {} };
  return bus
    .subscribe({
      message: (m) => seen.push(m.type === "user" ? m.email : m.type),
      reset: () => {
        rec.resets += 1;
      },
      caughtUp: () => {
        rec.confirms += 1;
      },
    })
    .then((stop) => {
      rec.stop = stop;
      return rec;
    });
}

describe("memory bus", () => {
  test("several caches share one bus object: each subscribe is its own follower", async () => {
    const bus = createMemoryBus();
    const a = await record(bus);
    const b = await record(bus);
    await bus.publish(msg(1));
    await tick();
    expect(a.seen).toEqual(["u1@x.com"]);
    expect(b.seen).toEqual(["u1@x.com"]);
    await bus.close();
  });

  test("a deaf view accumulates, then delivers what it missed in order", async () => {
    const bus = createMemoryBus({ confirmIntervalMs: 5 });
    const view = bus.connect();
    const f = await record(view);
    await tick();
    view.setDeaf(true);
    expect(view.deaf).toBe(true);
    const confirms = f.confirms;
    for (let i = 0; i < 5; i++) await bus.publish(msg(i));
    await new Promise((r) => setTimeout(r, 30));
    expect(f.seen).toEqual([]);
    expect(f.confirms).toBe(confirms);
    view.setDeaf(false);
    await until(() => f.confirms > confirms);
    expect(f.seen).toEqual([0, 1, 2, 3, 4].map((i) => `u${i}@x.com`));
    expect(f.resets).toBe(0);
    await view.close();
    await bus.close();
  });

  test("a deaf view that fell behind maxLength is reset when it hears again", async () => {
    const bus = createMemoryBus({ maxLength: 3 });
    const view = bus.connect();
    const f = await record(view);
    view.setDeaf(true);
    for (let i = 0; i < 10; i++) await bus.publish(msg(i));
    expect(bus.length).toBe(3);
    expect(bus.end).toBe(10);
    view.setDeaf(false);
    await until(() => f.resets === 1);
    expect(f.seen).toEqual([]);
    await bus.publish(msg(10));
    await until(() => f.seen.length > 0);
    expect(f.seen).toEqual(["u10@x.com"]);
    expect(f.resets).toBe(1);
    await view.close();
  });

  test("the log stays bounded by maxLength over many appends", async () => {
    const bus = createMemoryBus({ maxLength: 100 });
    for (let i = 0; i < 20_000; i++) await bus.publish(msg(i));
    expect(bus.length).toBe(100);
    expect(bus.end).toBe(20_000);
  });

  test("a malformed entry is counted once per view, however many followers it has", async () => {
    const bus = createMemoryBus();
    const view = bus.connect();
    await record(view);
    await record(view);
    bus.appendRaw("garbage");
    await tick();
    expect(view.dropped).toBe(1);
    expect(bus.dropped).toBe(0); // the root view has no follower, so it read nothing
  });

  test("interrupt emits down, then up, and keeps the position", async () => {
    const bus = createMemoryBus();
    const states: string[] = [];
    bus.onState((s) => states.push(s));
    const f = await record(bus);
    await tick();
    bus.interrupt(5);
    await bus.publish(msg(1));
    await tick();
    expect(f.seen).toEqual([]);
    await until(() => states.length === 3);
    expect(states).toEqual(["up", "down", "up"]);
    await until(() => f.seen.length > 0);
    expect(f.seen).toEqual(["u1@x.com"]);
    await bus.close();
  });

  test("publish and subscribe on a closed view reject; other views carry on", async () => {
    const bus = createMemoryBus();
    const view = bus.connect();
    await view.close();
    await expect(view.publish(msg(1))).rejects.toThrow("@authcache/adapter-memory");
    await expect(record(view)).rejects.toThrow("closed");
    await bus.publish(msg(2));
    expect(bus.end).toBe(1);
  });

  test("invalid options are a RangeError naming the option", () => {
    expect(() => createMemoryBus({ maxLength: 0 })).toThrow(RangeError);
    expect(() => createMemoryBus({ maxLength: 0 })).toThrow("maxLength");
    expect(() => createMemoryBus({ confirmIntervalMs: 0 })).toThrow("confirmIntervalMs");
  });
});
