/**
 * The one loopback TCP proxy of the tests: put it between a client and a server, then inject
 * network faults while traffic flows.
 * - delay: every chunk waits `ms` (order preserved per direction);
 * - blackhole: bytes are swallowed in both directions. TCP never resumes a stream past lost
 *   bytes, so every connection that lost data is reset when the blackhole lifts: a client can
 *   never read a reply that belongs to another command;
 * - cut: every open connection is reset now;
 * - refuse: new connections are reset as soon as they arrive;
 * - hold: new connections are accepted but stay silent (nothing is read, nothing lost), like a
 *   connection attempt into a network partition; lifting the hold joins them to the server.
 * `partition()` is a cut plus a hold; `heal()` turns every fault off.
 * Counters say how many faults were injected and how much traffic each one touched.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface ProxyStats {
  /** Connections accepted and forwarded. */
  accepted: number;
  /** Connections open right now (client side, held ones included). */
  active: number;
  /** Connections reset because `refuse` was on. */
  refused: number;
  /** Connections reset by `cut()` or by a lifted blackhole. */
  cutConnections: number;
  /** Connections accepted while `hold` was on (joined when it lifts, unless they went away). */
  held: number;
  /** Chunks forwarded late because of `delay`. */
  delayedChunks: number;
  /** Bytes swallowed by the blackhole. */
  droppedBytes: number;
  /** Fault injections by kind: each call that turned a fault on counts once. */
  faults: { delay: number; blackhole: number; cut: number; refuse: number; hold: number };
}

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly stats: ProxyStats;
  /** Total faults injected (sum of `stats.faults`). */
  readonly faultCount: number;
  /** Delays every chunk by `ms` from now on (0 turns it off). */
  setDelay(ms: number): void;
  /** Swallows all traffic while on; connections that lost bytes are reset when it goes off. */
  setBlackhole(on: boolean): void;
  /** Resets every open connection; returns how many were open. */
  cut(): number;
  /** Resets new connections as they arrive while on. */
  setRefuse(on: boolean): void;
  /** Keeps new connections silent while on; turning it off joins them to the server. */
  setHold(on: boolean): void;
  /** A network partition: resets every open connection and holds new ones until `heal()`. */
  partition(): void;
  /** Turns every fault off (connections that lost bytes are reset, held ones are joined). */
  heal(): void;
  /** Closes the listener and every connection. Idempotent. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket | undefined;
  /** True once the blackhole swallowed bytes of this pair: the stream can no longer be trusted. */
  poisoned: boolean;
  closed: boolean;
}

interface Faults {
  delayMs: number;
  blackhole: boolean;
  refuse: boolean;
  hold: boolean;
}

/** Forwards `from` → `to`, honouring delay and blackhole, keeping chunk order. */
function pipeWithFaults(
  from: Socket,
  to: Socket,
  pair: Pair,
  state: Faults,
  stats: ProxyStats,
): void {
  const queue: { chunk: Buffer; at: number }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pump = (): void => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && (queue[0]?.at ?? 0) <= now) {
      const item = queue.shift();
      if (item && !pair.closed && !pair.poisoned) to.write(item.chunk);
    }
    const next = queue[0];
    if (next && !pair.closed) timer = setTimeout(pump, Math.max(0, next.at - Date.now()));
  };
  from.on("data", (chunk: Buffer) => {
    if (pair.closed) return;
    if (state.blackhole || pair.poisoned) {
      stats.droppedBytes += chunk.length;
      pair.poisoned = true;
      return;
    }
    if (state.delayMs > 0 || queue.length > 0) {
      // A chunk never overtakes an earlier delayed one, even after the delay was lowered.
      const last = queue[queue.length - 1]?.at ?? 0;
      queue.push({ chunk, at: Math.max(Date.now() + state.delayMs, last) });
      stats.delayedChunks += 1;
      if (timer === undefined) timer = setTimeout(pump, state.delayMs);
      return;
    }
    to.write(chunk);
  });
  from.on("close", () => {
    if (timer !== undefined) clearTimeout(timer);
    queue.length = 0;
  });
}

function reset(sock: Socket | undefined): void {
  if (!sock) return;
  // An RST, like a dropped route or a killed peer; falls back to destroy where unsupported.
  if (typeof sock.resetAndDestroy === "function" && !sock.destroyed && sock.readyState === "open") {
    sock.resetAndDestroy();
  } else {
    sock.destroy();
  }
}

/** Starts a proxy on a free loopback port forwarding to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const host = "127.0.0.1";
  const state: Faults = { delayMs: 0, blackhole: false, refuse: false, hold: false };
  const stats: ProxyStats = {
    accepted: 0,
    active: 0,
    refused: 0,
    cutConnections: 0,
    held: 0,
    delayedChunks: 0,
    droppedBytes: 0,
    faults: { delay: 0, blackhole: 0, cut: 0, refuse: 0, hold: 0 },
  };
  const pairs = new Set<Pair>();
  /** Connections accepted during a hold, not yet joined to the server. */
  const held = new Set<Pair>();

  const closePair = (pair: Pair, counted: boolean): void => {
    if (pair.closed) return;
    pair.closed = true;
    pairs.delete(pair);
    held.delete(pair);
    stats.active -= 1;
    if (counted) stats.cutConnections += 1;
    reset(pair.client);
    reset(pair.server);
  };

  /** Connects a paused client to the server and forwards both ways. */
  const join = (pair: Pair): void => {
    const { client } = pair;
    const upstream = createConnection({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    upstream.on("error", () => {});
    pair.server = upstream;
    upstream.on("connect", () => client.resume());
    pipeWithFaults(client, upstream, pair, state, stats);
    pipeWithFaults(upstream, client, pair, state, stats);
    upstream.on("close", () => closePair(pair, false));
  };

  const server: Server = createServer((client) => {
    client.on("error", () => {});
    if (state.refuse) {
      stats.refused += 1;
      reset(client);
      return;
    }
    client.setNoDelay(true);
    client.pause();
    stats.accepted += 1;
    stats.active += 1;
    const pair: Pair = { client, server: undefined, poisoned: false, closed: false };
    pairs.add(pair);
    // Either side going away takes the other with it, as a real proxy would.
    client.on("close", () => closePair(pair, false));
    if (state.hold) {
      stats.held += 1;
      held.add(pair);
      return;
    }
    join(pair);
  });
  server.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  let closed = false;

  const proxy: TcpProxy = {
    host,
    port,
    url: `redis://${host}:${port}`,
    stats,
    get faultCount() {
      const f = stats.faults;
      return f.delay + f.blackhole + f.cut + f.refuse + f.hold;
    },
    setDelay(ms) {
      if (ms > 0 && state.delayMs === 0) stats.faults.delay += 1;
      state.delayMs = Math.max(0, ms);
    },
    setBlackhole(on) {
      if (on && !state.blackhole) stats.faults.blackhole += 1;
      state.blackhole = on;
      if (!on) for (const pair of [...pairs]) if (pair.poisoned) closePair(pair, true);
    },
    cut() {
      stats.faults.cut += 1;
      const open = [...pairs].filter((p) => !held.has(p));
      for (const pair of open) closePair(pair, true);
      return open.length;
    },
    setRefuse(on) {
      if (on && !state.refuse) stats.faults.refuse += 1;
      state.refuse = on;
    },
    setHold(on) {
      if (on && !state.hold) stats.faults.hold += 1;
      state.hold = on;
      if (on) return;
      const waiting = [...held];
      held.clear();
      for (const pair of waiting) if (!pair.closed) join(pair);
    },
    partition() {
      proxy.setHold(true);
      proxy.cut();
    },
    heal() {
      proxy.setDelay(0);
      proxy.setRefuse(false);
      proxy.setBlackhole(false);
      proxy.setHold(false);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const pair of [...pairs]) closePair(pair, false);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
