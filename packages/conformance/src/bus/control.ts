import type { LogReader, LogTransport } from "@authcache/core/adapter";

/** Test controls over a transport's reads, for buses whose connections a test cannot reach
 *  (a cluster client that discovers its nodes by itself). */
export interface TransportControl {
  /** The transport to give `createLogBus`: `inner`, with its reads under control. */
  readonly transport: LogTransport;
  /** Holds reads until `resume`, as a partition would: none starts, and one in flight loses its
   *  reply (it fails once the pause ends, so nothing it read is applied). */
  pause(): void;
  resume(): void;
  /** Makes each read wait `ms` before it is sent and again before its reply is handed over. */
  delay(ms: number): void;
}

/** Wraps `inner` so a test can pause its followers or slow them down (test code only: the
 *  adapters' own buses never carry these hooks). */
export function controlTransport(inner: LogTransport): TransportControl {
  let gate: { promise: Promise<void>; open(): void } | undefined;
  let delayMs = 0;
  let pauses = 0;
  const pass = async () => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    while (gate) await gate.promise;
  };
  const controlled = (reader: LogReader): LogReader => ({
    async end() {
      await pass();
      const end = await reader.end();
      await pass();
      return end;
    },
    async read(after, limit) {
      await pass();
      const sent = pauses;
      const read = await reader.read(after, limit);
      await pass();
      if (pauses !== sent) throw new Error("test pause: the reply was lost");
      return read;
    },
    close: () => reader.close(),
  });
  const transport: LogTransport = {
    name: inner.name,
    blockMs: inner.blockMs,
    ...(inner.pollIntervalMs === undefined ? {} : { pollIntervalMs: inner.pollIntervalMs }),
    append: (data) => inner.append(data),
    openReader: async () => controlled(await inner.openReader()),
    close: () => inner.close(),
  };
  return {
    transport,
    pause() {
      if (gate) return;
      pauses += 1;
      let open = () => {};
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    resume() {
      const g = gate;
      gate = undefined;
      g?.open();
    },
    delay(ms) {
      delayMs = Math.max(0, ms);
    },
  };
}
