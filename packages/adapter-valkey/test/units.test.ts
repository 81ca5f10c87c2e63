import { describe, expect, test } from "bun:test";
import { InFlightLimiter } from "../src/index.ts";
import { ReadBatcher, type ReadRequest } from "../src/read-batcher.ts";

describe("InFlightLimiter", () => {
  test("never exceeds its cap, counts scripts as their weight, and runs everything in order", async () => {
    const limiter = new InFlightLimiter(10);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const release: (() => void)[] = [];
    const tasks = Array.from({ length: 100 }, (_, i) =>
      limiter.run(
        () =>
          new Promise<number>((resolve) => {
            const w = i % 3 === 0 ? 2 : 1;
            active += w;
            peak = Math.max(peak, active);
            order.push(i);
            release.push(() => {
              active -= w;
              resolve(i);
            });
          }),
        i % 3 === 0 ? 2 : 1,
      ),
    );
    for (let round = 0; round < 200 && release.length > 0; round++) {
      const r = release.shift() as () => void;
      r();
      await Promise.resolve();
      await new Promise((res) => setTimeout(res, 0));
    }
    expect(await Promise.all(tasks)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(peak).toBeLessThanOrEqual(10);
    expect(order).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  test("a task that throws synchronously releases its slot", async () => {
    const limiter = new InFlightLimiter(1);
    await expect(
      limiter.run(() => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await limiter.run(async () => 7)).toBe(7);
  });

  test("rejects a cap that is not a positive integer", () => {
    expect(() => new InFlightLimiter(0)).toThrow(RangeError);
  });
});

describe("ReadBatcher", () => {
  interface Req extends ReadRequest {
    readonly id: number;
  }
  test("sends alone while idle, coalesces under load, and splits replies back per read", async () => {
    const sent: number[][] = [];
    const pending: (() => void)[] = [];
    const batcher = new ReadBatcher<Req>(
      (batch) =>
        new Promise((resolve) => {
          sent.push(batch.map((r) => r.id));
          pending.push(() =>
            resolve(batch.flatMap((r) => Array.from({ length: r.size }, (_, j) => `${r.id}.${j}`))),
          );
        }),
      { maxConcurrent: 2, maxCommands: 6 },
    );
    const results: Promise<unknown[]>[] = [];
    for (let id = 0; id < 8; id++) {
      results.push(
        new Promise((resolve, reject) =>
          batcher.add({ id, size: 2, resolve: (r, at) => resolve(r.slice(at, at + 2)), reject }),
        ),
      );
    }
    expect(sent).toEqual([[0], [1]]);
    expect(batcher.queued).toBe(6);
    for (let i = 0; i < 10 && pending.length > 0; i++) {
      (pending.shift() as () => void)();
      await new Promise((res) => setTimeout(res, 0));
    }
    expect(sent).toEqual([[0], [1], [2, 3, 4], [5, 6, 7]]);
    expect(await results[3]).toEqual(["3.0", "3.1"]);
    expect(await results[7]).toEqual(["7.0", "7.1"]);
  });

  test("an error reply fails only its read; a failed pipeline fails all of its reads", async () => {
    let call = 0;
    const batcher = new ReadBatcher<Req>(
      async () => {
        call++;
        if (call === 1) return ["a", new Error("WRONGTYPE"), "c", "d"];
        throw new Error("connection lost");
      },
      { maxConcurrent: 1, maxCommands: 100 },
    );
    const mk = (id: number) =>
      new Promise<unknown[]>((resolve, reject) =>
        batcher.add({ id, size: 2, resolve: (r, at) => resolve(r.slice(at, at + 2)), reject }),
      );
    const settled = await Promise.allSettled([mk(0), mk(1), mk(2)]);
    const reasons = settled.map((s) => (s.status === "rejected" ? String(s.reason) : "ok"));
    expect(reasons).toEqual([
      "Error: WRONGTYPE",
      "Error: connection lost",
      "Error: connection lost",
    ]);
    expect(call).toBe(2);
  });
});
