import { describe, expect, test } from "bun:test";
import {
  type BusHandlers,
  createLogBus,
  encodeMessage,
  type InvalidationMessage,
  type LogEntry,
  type LogRead,
  type LogTransport,
  type ResetCause,
} from "../src/adapter.ts";
import { MAX_LOG_ENTRY_BYTES } from "../src/index.ts";

const msg = (i: number): InvalidationMessage => ({ type: "user", email: `u${i}@x.com` });

/** A scripted log in this process: entries with sequence numbers, an epoch, and a hook that
 *  runs inside each read (to move the clock or change the log while the "reply travels"). */
function scriptedLog() {
  const log = {
    epoch: "e1" as string | undefined,
    head: 0,
    entries: [] as { seq: number | undefined; data: string }[],
    reads: 0,
    failNext: 0,
    duringRead: undefined as (() => void | Promise<void>) | undefined,
    append(data: string) {
      log.head += 1;
      log.entries.push({ seq: log.head, data });
    },
  };
  const transport: LogTransport = {
    name: "scripted",
    blockMs: 0,
    pollIntervalMs: 2,
    async append(data) {
      log.append(data);
    },
    openReader: () => ({
      async end() {
        log.epoch ??= "e-new";
        return { epoch: log.epoch, seq: log.head };
      },
      async read(after, limit): Promise<LogRead> {
        log.reads += 1;
        if (log.failNext > 0) {
          log.failNext -= 1;
          throw new Error("scripted failure");
        }
        const epoch = log.epoch;
        const head = log.head;
        const entries: LogEntry[] = log.entries
          .filter((e) => e.seq === undefined || e.seq > after.seq)
          .slice(0, limit);
        // Entries without a sequence number are read once (a cursor would move past them).
        log.entries = log.entries.filter((e) => e.seq !== undefined);
        await log.duringRead?.();
        return { epoch, head, entries };
      },
      close() {},
    }),
    async close() {},
  };
  return { log, transport };
}

function recorder() {
  const rec = {
    events: [] as string[],
    confirmations: [] as number[],
    resets: 0,
    causes: [] as (ResetCause | undefined)[],
    handlers: {
      message: (m: InvalidationMessage) => {
        rec.events.push(m.type === "user" ? m.email : m.type);
      },
      reset: (cause?: ResetCause) => {
        rec.resets += 1;
        rec.causes.push(cause);
        rec.events.push("reset");
      },
      caughtUp: (at: number) => {
        rec.confirmations.push(at);
      },
    } as BusHandlers,
  };
  return rec;
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(check()).toBe(true);
}

describe("createLogBus", () => {
  test("a confirmation is dated by when its read was sent, not when the reply arrived", async () => {
    const { log, transport } = scriptedLog();
    const clock = { t: 1_000 };
    // Every read's reply "travels" 150 ms of the clock.
    log.duringRead = () => {
      clock.t += 150;
    };
    const bus = createLogBus(transport, { now: () => clock.t });
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    await until(() => rec.confirmations.length >= 4);
    stop();
    // The anchor (asked at 1000) confirms first; read k was sent at 1000 + 150k and answered
    // at 1000 + 150(k+1).
    expect(rec.confirmations.slice(0, 4)).toEqual([1_000, 1_000, 1_150, 1_300]);
    await bus.close();
  });

  test("an append that lands while a reply travels is not covered by that read's confirmation", async () => {
    const { log, transport } = scriptedLog();
    const clock = { t: 1_000 };
    let appended = false;
    log.duringRead = () => {
      clock.t += 100;
      if (!appended && log.reads === 2) {
        appended = true;
        log.append(encodeMessage(msg(1)));
      }
    };
    const bus = createLogBus(transport, { now: () => clock.t });
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    await until(() => rec.events.length >= 1 && rec.confirmations.length >= 4);
    stop();
    // After the anchor's (1000): the second read was sent at 1100, before the append at ~1200,
    // so its confirmation says 1100; the entry comes with the third read, sent at 1200.
    expect(rec.confirmations.slice(0, 4)).toEqual([1_000, 1_000, 1_100, 1_200]);
    await bus.close();
  });

  test("a gap in the sequence (a removed unread entry) resets; later entries follow", async () => {
    const { log, transport } = scriptedLog();
    const bus = createLogBus(transport);
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    log.duringRead = undefined;
    for (let i = 1; i <= 3; i++) log.append(encodeMessage(msg(i)));
    log.entries.splice(1, 1); // entry 2 deleted before the follower read it
    await until(() => rec.resets === 1);
    log.append(encodeMessage(msg(4)));
    await until(() => rec.events.includes("u4@x.com"));
    stop();
    // Entry 1 is delivered (before the gap), then the reset, then only what follows the anchor.
    expect(rec.events).toEqual(["u1@x.com", "reset", "u4@x.com"]);
    await bus.close();
  });

  test("a removed newest entry (head beyond the last entry read) resets", async () => {
    const { log, transport } = scriptedLog();
    const bus = createLogBus(transport);
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    log.append(encodeMessage(msg(1)));
    log.entries.pop();
    await until(() => rec.resets === 1);
    stop();
    expect(rec.events).toEqual(["reset"]);
    await bus.close();
  });

  test("a new epoch resets even when the new log has grown past the position", async () => {
    const { log, transport } = scriptedLog();
    const bus = createLogBus(transport);
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    log.append(encodeMessage(msg(1)));
    await until(() => rec.events.length === 1);
    const before = log.reads;
    // Recreated between two reads, with more entries than the follower had read.
    log.epoch = "e2";
    log.head = 0;
    log.entries = [];
    for (let i = 10; i < 15; i++) log.append(encodeMessage(msg(i)));
    await until(() => rec.resets === 1 && log.reads > before + 1);
    stop();
    expect(rec.events).toEqual(["u1@x.com", "reset"]);
    await bus.close();
  });

  test("a log that disappeared or went behind the position resets", async () => {
    const { log, transport } = scriptedLog();
    const bus = createLogBus(transport);
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    for (let i = 1; i <= 3; i++) log.append(encodeMessage(msg(i)));
    await until(() => rec.events.length === 3);
    log.head = 1; // a failover to a replica that lost two writes, same epoch
    log.entries = log.entries.slice(0, 1);
    await until(() => rec.resets === 1);
    log.epoch = undefined; // flushed
    await until(() => rec.resets === 2);
    stop();
    await bus.close();
  });

  test("reset causes: a trimmed gap is 'gap', a new epoch 'epoch', a head gone back below what was applied (same epoch) 'lost'", async () => {
    const { log, transport } = scriptedLog();
    const bus = createLogBus(transport);
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    for (let i = 1; i <= 3; i++) log.append(encodeMessage(msg(i)));
    log.entries.splice(0, 2); // 1 and 2 trimmed before the follower read them
    await until(() => rec.resets === 1);
    log.append(encodeMessage(msg(4)));
    await until(() => rec.events.includes("u4@x.com"));
    // A failover to a replica that never got entry 4: same epoch, head back to 3.
    log.head = 3;
    log.entries = log.entries.filter((e) => (e.seq ?? 0) <= 3);
    await until(() => rec.resets === 2);
    log.epoch = "e2";
    log.head = 0;
    log.entries = [];
    await until(() => rec.resets === 3);
    stop();
    expect(rec.causes).toEqual(["gap", "lost", "epoch"]);
    await bus.close();
  });

  test("a sequence number already applied, issued again after the cursor, is a lost write even once the head has caught up", async () => {
    // A Stream after a failover: the new master never got entries 3 and 4 (applied here), then
    // took three appends numbered 3, 4, 5 whose ids sort after this follower's cursor.
    let phase = 0;
    const data = (i: number) => encodeMessage(msg(i));
    const transport: LogTransport = {
      name: "reissued",
      blockMs: 0,
      pollIntervalMs: 2,
      async append() {},
      openReader: () => ({
        async end() {
          return { epoch: "e1", seq: phase === 0 ? 2 : 5, cursor: "c" };
        },
        async read(after): Promise<LogRead> {
          if (phase === 0 && after.seq === 2) {
            phase = 1;
            return {
              epoch: "e1",
              head: 4,
              entries: [
                { seq: 3, cursor: "a3", data: data(3) },
                { seq: 4, cursor: "a4", data: data(4) },
              ],
            };
          }
          if (phase === 1 && after.seq === 4) {
            phase = 2;
            return {
              epoch: "e1",
              head: 5,
              entries: [
                { seq: 3, cursor: "b3", data: data(30) },
                { seq: 4, cursor: "b4", data: data(40) },
                { seq: 5, cursor: "b5", data: data(50) },
              ],
            };
          }
          return { epoch: "e1", head: after.seq, entries: [] };
        },
        close() {},
      }),
      async close() {},
    };
    const bus = createLogBus(transport);
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    await until(() => rec.resets === 1);
    stop();
    expect(rec.events).toEqual(["u3@x.com", "u4@x.com", "reset"]);
    expect(rec.causes).toEqual(["lost"]);
    await bus.close();
  });

  test("a message handler that throws is followed by reset; following continues", async () => {
    const { log, transport } = scriptedLog();
    const warnings: string[] = [];
    const bus = createLogBus(transport, { logger: { warn: (m) => warnings.push(m) } });
    const rec = recorder();
    const handlers: BusHandlers = {
      ...rec.handlers,
      message: (m) => {
        if (m.type === "user" && m.email === "u1@x.com") throw new Error("boom");
        rec.handlers.message(m);
      },
    };
    const stop = await bus.subscribe(handlers);
    log.append(encodeMessage(msg(1)));
    log.append(encodeMessage(msg(2)));
    await until(() => rec.events.includes("u2@x.com"));
    stop();
    expect(rec.events).toEqual(["reset", "u2@x.com"]);
    expect(warnings.some((w) => w.includes("message handler threw"))).toBe(true);
    await bus.close();
  });

  test("malformed entries are dropped and counted once per bus; foreign entries too", async () => {
    const { log, transport } = scriptedLog();
    const bus = createLogBus(transport);
    const a = recorder();
    const b = recorder();
    const stopA = await bus.subscribe(a.handlers);
    const stopB = await bus.subscribe(b.handlers);
    log.append("not json");
    log.append(encodeMessage(msg(1)));
    await until(() => a.events.length === 1 && b.events.length === 1);
    expect(bus.dropped).toBe(1);
    log.entries.push({ seq: undefined, data: encodeMessage(msg(9)) });
    log.append(encodeMessage(msg(2)));
    await until(() => a.events.length === 2);
    expect(a.events).toEqual(["u1@x.com", "u2@x.com"]);
    expect(a.resets).toBe(0);
    expect(bus.dropped).toBeGreaterThanOrEqual(2);
    stopA();
    stopB();
    await bus.close();
  });

  test("state: down on a failed read, up again after; listeners hear each change once", async () => {
    const { log, transport } = scriptedLog();
    const bus = createLogBus(transport);
    const states: string[] = [];
    bus.onState((s) => states.push(s));
    const rec = recorder();
    const stop = await bus.subscribe(rec.handlers);
    await until(() => states.length === 1);
    log.failNext = 2;
    await until(() => states.length === 3);
    expect(states).toEqual(["up", "down", "up"]);
    log.append(encodeMessage(msg(1)));
    await until(() => rec.events.length === 1);
    expect(rec.resets).toBe(0);
    stop();
    await bus.close();
  });

  test("publish refuses an entry above MAX_LOG_ENTRY_BYTES (followers drop it) and appends nothing", async () => {
    const { log, transport } = scriptedLog();
    const bus = createLogBus(transport);
    const huge = { type: "user", email: "é".repeat(MAX_LOG_ENTRY_BYTES / 2) } as const;
    await expect(bus.publish(huge)).rejects.toThrow("MAX_LOG_ENTRY_BYTES");
    expect(log.head).toBe(0);
    await bus.publish(msg(1));
    expect(log.head).toBe(1);
    await bus.close();
  });

  test("invalid options are a RangeError naming the option", () => {
    const { transport } = scriptedLog();
    expect(() => createLogBus(transport, { batchSize: 0 })).toThrow("batchSize");
    expect(() => createLogBus(transport, { replyTimeoutMs: -1 })).toThrow("replyTimeoutMs");
  });
});
