import type { BusState, InvalidationBus } from "@authcache/core";
import type { InvalidationMessage, Unsubscribe } from "@authcache/core/adapter";

/** One follower's view of the log: every callback, in the order it arrived. */
export interface Recorder {
  readonly messages: InvalidationMessage[];
  /** Every callback as one sequence: a message, "reset" or "caughtUp". */
  readonly events: (
    | { kind: "message"; message: InvalidationMessage }
    | { kind: "reset" | "caughtUp"; at?: number }
  )[];
  readonly caughtUp: number[];
  readonly resets: number;
  readonly states: BusState[];
  unsubscribe: Unsubscribe;
}

/** Subscribes to `bus` (listening to its state first) and records what it delivers. */
export async function follow(bus: InvalidationBus): Promise<Recorder> {
  const rec = {
    messages: [] as InvalidationMessage[],
    events: [] as Recorder["events"][number][],
    caughtUp: [] as number[],
    resets: 0,
    states: [] as BusState[],
    unsubscribe: (() => {}) as Unsubscribe,
  };
  const stopState = bus.onState((s) => rec.states.push(s));
  const stop = await bus.subscribe({
    message(m) {
      rec.messages.push(m);
      rec.events.push({ kind: "message", message: m });
    },
    reset() {
      rec.resets += 1;
      rec.events.push({ kind: "reset" });
    },
    caughtUp(at) {
      rec.caughtUp.push(at);
      rec.events.push({ kind: "caughtUp", at });
    },
  });
  rec.unsubscribe = () => {
    stop();
    stopState();
  };
  return rec;
}

/** A message unique to a test: `user` messages carrying `${tag}-${i}` in the address. */
export function numbered(tag: string, i: number): InvalidationMessage {
  return { type: "user", email: `${tag}-${i}@x.com` };
}

/** The `i` of messages made by `numbered` (others are ignored). */
export function numbers(messages: readonly InvalidationMessage[], tag: string): number[] {
  const out: number[] = [];
  for (const m of messages) {
    if (m.type !== "user" || !m.email.startsWith(`${tag}-`)) continue;
    out.push(Number(m.email.slice(tag.length + 1, m.email.indexOf("@"))));
  }
  return out;
}

/** Bounded-wait attempts (10 ms apart) that cover `n` confirmation intervals plus slack for a
 *  reconnect; a loop bound, not an assertion on speed. */
export function attemptsFor(confirmIntervalMs: number, n = 4): number {
  return Math.ceil((confirmIntervalMs * n + 8_000) / 10);
}
