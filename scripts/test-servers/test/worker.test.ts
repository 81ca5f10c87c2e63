import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startWorker } from "../src/worker.ts";

const fixture = join(import.meta.dir, "fixtures", "echo-worker.ts");
const argv = (mode = "plain", argument: unknown = { n: 1 }) => [
  process.execPath,
  fixture,
  mode,
  JSON.stringify(argument),
];

describe("worker protocol (serveWorker / startWorker)", () => {
  test("ready carries the child's payload; calls return values, undefined and named errors", async () => {
    const w = await startWorker(argv("plain", { list: [1, "x"] }), { label: "W" });
    try {
      expect(w.ready).toEqual({ pid: w.pid, argument: { list: [1, "x"] } });
      expect(await w.request("echo", { a: [1, "x", null] })).toEqual({ a: [1, "x", null] });
      const nothing = await w.call("nothing");
      expect(nothing.ok).toBe(true);
      expect(nothing.value).toBeUndefined();
      const failed = await w.call("fail");
      expect(failed.ok).toBe(false);
      expect(failed.error).toEqual({ name: "RangeError", message: "failed on purpose" });
      expect(failed.startedAt).toBeGreaterThan(0);
      expect(failed.endedAt).toBeGreaterThanOrEqual(failed.startedAt);
      await expect(w.request("fail")).rejects.toThrow("W: failed on purpose");
      await expect(w.request("nope")).rejects.toThrow("W: no method nope");
    } finally {
      await w.close();
    }
    expect(w.exited).toBe(true);
  });

  test("calls are served concurrently and answered as they settle", async () => {
    const w = await startWorker(argv());
    try {
      const order: number[] = [];
      await Promise.all(
        [60, 1, 30].map((ms) => w.request("slow", ms).then((v) => order.push(v as number))),
      );
      expect(order).toEqual([1, 30, 60]);
    } finally {
      await w.close();
    }
  });

  test("the child asks the parent (a loader) and gets answers or errors back", async () => {
    const asked: unknown[] = [];
    const w = await startWorker(argv(), {
      onAsk: async (payload) => {
        asked.push(payload);
        if (payload === "boom") throw new Error("no such row");
        return (payload as { v: number }).v * 10;
      },
    });
    try {
      expect(await w.request("askTwice", { v: 1 }, { v: 2 })).toBe(30);
      expect(asked).toEqual([{ v: 1 }, { v: 2 }]);
      const failed = await w.call("askFailing", "boom");
      expect(failed.error?.message).toBe("no such row");
    } finally {
      await w.close();
    }
  });

  test("stray stdout lines of a library do not break the protocol", async () => {
    const w = await startWorker(argv("noisy"));
    try {
      expect(await w.request("echo", 7)).toBe(7);
    } finally {
      await w.close();
    }
  });

  test("a worker that exits before it is ready fails the start instead of hanging", async () => {
    await expect(startWorker(argv("exit-early"), { label: "W" })).rejects.toThrow(
      "W: the worker exited (3) before it was ready",
    );
  });

  test("a worker that never gets ready is killed and fails the start", async () => {
    await expect(
      startWorker(argv("never-ready"), { label: "W", readyTimeoutMs: 300 }),
    ).rejects.toThrow("W: the worker was not ready within 300 ms (killed)");
  });

  test("a killed worker settles its pending calls at once, and later calls too", async () => {
    const w = await startWorker(argv());
    const pending = w.call("hang");
    await w.kill();
    const r = await pending;
    expect(r.ok).toBe(false);
    expect(r.error?.name).toBe("WorkerExited");
    expect(w.exitCode).toBe("SIGKILL");
    expect((await w.call("echo", 1)).error?.name).toBe("WorkerExited");
    await expect(w.request("echo", 1)).rejects.toThrow("the worker exited");
    expect(w.exited).toBe(true);
  });

  test("close ends stdin: the child closes its service and exits by itself", async () => {
    const w = await startWorker(argv(), { graceMs: 60_000 });
    expect(await w.request("count")).toBe(1);
    await w.close();
    expect(w.exited).toBe(true);
    expect(w.exitCode).toBe(0); // not killed: SIGKILL would be the code
    await w.close(); // idempotent
    const failing = await startWorker(argv("close-fails"), { graceMs: 60_000 });
    await failing.close();
    expect(failing.exitCode).toBe(1); // its close ran, and threw
  });
});
