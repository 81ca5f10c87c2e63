import { describe, expect, test } from "bun:test";
import { Guard } from "../src/guard.ts";
import { CircuitOpenError, StoreError, silentLogger, TimeoutError } from "../src/index.ts";

function makeGuard(clock: { t: number }, failures = 3) {
  return new Guard({
    target: "store test",
    timeoutMs: 20,
    breaker: { failures, resetMs: 1_000 },
    now: () => clock.t,
    logger: silentLogger,
    wrap: (op, cause) => new StoreError(op, "test", { cause }),
  });
}

describe("Guard", () => {
  test("passes values through and wraps failures in a typed error with cause", async () => {
    const g = makeGuard({ t: 0 });
    expect(await g.call("get", async () => 7)).toBe(7);
    const boom = new Error("boom");
    const err = await g.call("get", async () => Promise.reject(boom)).catch((e: StoreError) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.cause).toBe(boom);
    expect(err.operation).toBe("get");
  });

  test("a synchronous throw is a rejection, not an exception", async () => {
    const g = makeGuard({ t: 0 });
    const p = g.call("get", () => {
      throw new Error("sync");
    });
    await expect(p).rejects.toBeInstanceOf(StoreError);
  });

  test("a call that hangs rejects with a TimeoutError cause", async () => {
    const g = makeGuard({ t: 0 });
    const err = (await g.call("read", () => new Promise(() => {})).catch((e) => e)) as StoreError;
    expect(err.cause).toBeInstanceOf(TimeoutError);
    expect(g.timeouts).toBe(1);
  });

  test("opens after N consecutive failures; while open, calls are not made", async () => {
    const clock = { t: 0 };
    const g = makeGuard(clock, 3);
    let made = 0;
    const failing = () => {
      made++;
      return Promise.reject(new Error("down"));
    };
    for (let i = 0; i < 3; i++) await g.call("x", failing).catch(() => {});
    expect(g.state).toBe("open");
    expect(made).toBe(3);
    for (let i = 0; i < 100; i++) {
      const err = await g.call("x", failing).catch((e) => e);
      expect(err.cause).toBeInstanceOf(CircuitOpenError);
    }
    expect(made).toBe(3);
    expect(g.shortCircuited).toBe(100);
  });

  test("after resetMs one probe is let through: success closes, failure re-opens", async () => {
    const clock = { t: 0 };
    const g = makeGuard(clock, 1);
    await g.call("x", () => Promise.reject(new Error("down"))).catch(() => {});
    expect(g.state).toBe("open");
    clock.t = 1_000;
    let made = 0;
    // The probe hangs for a moment: a concurrent call is refused, not made.
    let release: (v: number) => void = () => {};
    const probe = g.call("x", () => {
      made++;
      return new Promise<number>((r) => {
        release = r;
      });
    });
    const second = await g.call("x", async () => made++).catch((e) => e);
    expect(second.cause).toBeInstanceOf(CircuitOpenError);
    release(1);
    expect(await probe).toBe(1);
    expect(made).toBe(1);
    expect(g.state).toBe("closed");
    await g.call("x", () => Promise.reject(new Error("down"))).catch(() => {});
    expect(g.state).toBe("open");
    clock.t = 2_000;
    await g.call("x", () => Promise.reject(new Error("still down"))).catch(() => {});
    expect(g.state).toBe("open");
    clock.t = 2_500;
    await g.call("x", async () => 1).catch(() => {});
    expect(g.state).toBe("open");
  });

  test("calls share one deadline timer: each hanging call still times out, in order, among settled ones", async () => {
    const g = makeGuard({ t: 0 }, 1_000);
    const order: string[] = [];
    const hang = (name: string) =>
      g
        .call(name, () => new Promise(() => {}))
        .catch((e: StoreError) => {
          expect(e.cause).toBeInstanceOf(TimeoutError);
          order.push(name);
        });
    const first = hang("first");
    const quick: Promise<number>[] = [];
    for (let i = 0; i < 100; i++) quick.push(g.call("quick", async () => i));
    expect(await Promise.all(quick)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await new Promise((r) => setTimeout(r, 5));
    const second = hang("second");
    for (let i = 0; i < 10; i++) expect(await g.call("quick", async () => i)).toBe(i);
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
    expect(g.timeouts).toBe(2);
    expect(g.calls).toBe(112);
    // After the queue emptied, a new hanging call is timed out too.
    await hang("third");
    expect(g.timeouts).toBe(3);
  });

  test("an idle guard keeps no process alive; a pending call does, until its deadline", () => {
    const guardPath = new URL("../src/guard.ts", import.meta.url).pathname;
    // A settled call leaves the shared timer armed for a 10-minute deadline: unref'd, so the
    // process ends at once (bun test's own timeout fails this test if it does not).
    const a = Bun.spawnSync(
      [
        process.execPath,
        "-e",
        `import { Guard } from ${JSON.stringify(guardPath)};
         const g = new Guard({ target: "t", timeoutMs: 600000, breaker: { failures: 9, resetMs: 1 },
           now: () => 0, logger: { debug() {}, warn() {}, error() {} }, wrap: (op) => new Error(op) });
         g.call("x", async () => 1).then((v) => console.log(v));`,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    expect(a.stderr.toString()).toBe("");
    expect(a.stdout.toString()).toBe("1\n");
    // A call that never settles, made after the timer went idle (unref'd), is still timed out:
    // the re-ref'd timer keeps the process alive until the deadline. (No top-level await in
    // these scripts: Bun stays alive while one is pending.)
    const b = Bun.spawnSync(
      [
        process.execPath,
        "-e",
        `import { Guard } from ${JSON.stringify(guardPath)};
         const g = new Guard({ target: "t", timeoutMs: 30, breaker: { failures: 9, resetMs: 1 },
           now: () => 0, logger: { debug() {}, warn() {}, error() {} }, wrap: (op) => new Error(op) });
         g.call("x", async () => 1)
           .then(() => g.call("y", () => new Promise(() => {})))
           .catch((e) => console.log("rejected", e.message))
           .then(() => console.log("timeouts", g.timeouts));`,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    expect(b.stderr.toString()).toBe("");
    expect(b.stdout.toString()).toBe("rejected y\ntimeouts 1\n");
  });
});
