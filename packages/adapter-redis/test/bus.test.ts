// Redis-specific bus behaviour beyond the shared suite: the server killed and restarted (the
// stream is lost with it), the server down when following starts, a socket killed under the
// follower, option errors and client ownership.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { BusState } from "@authcache/core";
import type { BusHandlers, InvalidationMessage } from "@authcache/core/adapter";
import { startServer, type TestServer } from "@authcache/test-servers";
import { Redis } from "ioredis";
import { createRedisBus, type RedisBus } from "../src/index.ts";
import { startProxy } from "./tcp-proxy.js";

let server: TestServer;

beforeAll(async () => {
  server = await startServer("redis");
});

afterAll(async () => {
  await server?.stop();
});

interface Follower extends BusHandlers {
  readonly emails: string[];
  readonly states: BusState[];
  resets: number;
  confirmations: number;
}

async function follow(bus: RedisBus): Promise<Follower> {
  const f: Follower = {
    emails: [],
    states: [],
    resets: 0,
    confirmations: 0,
    message: (m: InvalidationMessage) => {
      if (m.type === "user") f.emails.push(m.email);
    },
    reset: () => {
      f.resets++;
    },
    caughtUp: () => {
      f.confirmations++;
    },
  };
  bus.onState((s) => f.states.push(s));
  await bus.subscribe(f);
  return f;
}

async function until(what: string, check: () => boolean, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts && !check(); i++) await Bun.sleep(20);
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

const user = (email: string) => ({ type: "user", email }) as const;

test("after the server is killed and restarted the follower resets once and follows again", async () => {
  const stream = `kr:${crypto.randomUUID()}`;
  const publisher = createRedisBus({ url: server.url, stream, confirmIntervalMs: 100 });
  const bus = createRedisBus({ url: server.url, stream, confirmIntervalMs: 100 });
  try {
    const f = await follow(bus);
    await publisher.publish(user("before@x"));
    await until("the first entry arrived", () => f.emails.length === 1);
    await server.kill();
    await until("the follower is down", () => f.states.at(-1) === "down");
    const confirmations = f.confirmations;
    await Bun.sleep(300);
    expect(f.confirmations).toBe(confirmations); // no confirmation while the server is gone
    await server.restart();
    await until("the follower is up again", () => f.states.at(-1) === "up");
    // The restarted server lost the stream (no persistence): entries may have been lost
    // with it, so the cache must flush its L1, once.
    await until("the follower was reset", () => f.resets === 1);
    await until("the publisher reconnected", () => publisher.client.status === "ready");
    await publisher.publish(user("after@x"));
    await until("the entry after the restart arrived", () => f.emails.length === 2);
    expect(f.emails).toEqual(["before@x", "after@x"]);
    expect(f.resets).toBe(1);
    await until("confirmations resumed", () => f.confirmations > confirmations + 2);
  } finally {
    await bus.close();
    await publisher.close();
  }
}, 30_000);

test("subscribing while the server is down resolves, reports down, and recovers by itself", async () => {
  const stream = `dn:${crypto.randomUUID()}`;
  await server.kill();
  const bus = createRedisBus({ url: server.url, stream, confirmIntervalMs: 100 });
  let publisher: RedisBus | undefined;
  try {
    const f = await follow(bus);
    await until("the follower reports down", () => f.states.includes("down"));
    expect(f.confirmations).toBe(0);
    await server.restart();
    await until("the follower is up", () => f.states.at(-1) === "up");
    // Its starting position was learnt late: it may have missed entries, so it resets.
    expect(f.resets).toBe(1);
    publisher = createRedisBus({ url: server.url, stream, confirmIntervalMs: 100 });
    await publisher.publish(user("late@x"));
    await until("the entry arrived", () => f.emails.length === 1);
  } finally {
    await bus.close();
    await publisher?.close();
  }
}, 30_000);

test("a follower whose socket is killed reconnects and resumes with nothing lost", async () => {
  const stream = `sk:${crypto.randomUUID()}`;
  const proxy = await startProxy({ host: server.host, port: server.port });
  const publisher = createRedisBus({ url: server.url, stream, confirmIntervalMs: 100 });
  const bus = createRedisBus({
    host: proxy.host,
    port: proxy.port,
    stream,
    confirmIntervalMs: 100,
  });
  try {
    const f = await follow(bus);
    await publisher.publish(user("0@x"));
    await until("entry 0 arrived", () => f.emails.length === 1);
    for (let round = 1; round <= 3; round++) {
      proxy.cut();
      await publisher.publish(user(`${round}@x`));
      await until(`entry ${round} arrived`, () => f.emails.length === round + 1);
    }
    expect(f.emails).toEqual(["0@x", "1@x", "2@x", "3@x"]);
    expect(f.states.filter((s) => s === "down").length).toBe(3);
    expect(f.states.at(-1)).toBe("up");
    expect(f.resets).toBe(0);
  } finally {
    await bus.close();
    await publisher.close();
    await proxy.close();
  }
});

test("the stream stays capped at maxLength (approximately) however much is published", async () => {
  const stream = `cap:${crypto.randomUUID()}`;
  const bus = createRedisBus({ url: server.url, stream, maxLength: 100 });
  try {
    for (let i = 0; i < 1_000; i++) await bus.publish(user(`${i}@x`));
    const length = await bus.client.xlen(bus.log.entries);
    // MAXLEN ~ trims whole stream nodes (100 entries each by default).
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThanOrEqual(200);
  } finally {
    await bus.client.del(bus.log.entries, bus.log.meta);
    await bus.close();
  }
});

test("a bus closes the client it opened and never one it was given", async () => {
  const given = new Redis(server.url);
  try {
    const borrowed = createRedisBus({ client: given, stream: `own:${crypto.randomUUID()}` });
    await follow(borrowed);
    await borrowed.publish(user("x@x"));
    await borrowed.close();
    expect(given.status).toBe("ready");
    expect(await given.ping()).toBe("PONG");
    const opened = createRedisBus({ url: server.url });
    await opened.close();
    expect(opened.client.status).toBe("end");
    await expect(opened.publish(user("y@x"))).rejects.toThrow(/adapter-redis.*after close/);
  } finally {
    await given.quit();
  }
});

test("the log is named after the cache prefix: two prefixes on one server, two logs", async () => {
  const a = `pa${crypto.randomUUID().slice(0, 8)}:`;
  const b = `pb${crypto.randomUUID().slice(0, 8)}:`;
  const busA = createRedisBus({ url: server.url, prefix: a, confirmIntervalMs: 100 });
  const busB = createRedisBus({ url: server.url, prefix: b, confirmIntervalMs: 100 });
  const defaults = createRedisBus({ url: server.url });
  try {
    expect(busA.log.entries).toBe(`{${a}log}:entries`);
    expect(defaults.log.entries).toBe("{authcache:log}:entries");
    const fa = await follow(busA);
    const fb = await follow(busB);
    await busA.publish(user("only-a@x"));
    await busB.publish(user("only-b@x"));
    await until("each follower has its own entry", () => fa.emails.length + fb.emails.length >= 2);
    await Bun.sleep(250);
    expect(fa.emails).toEqual(["only-a@x"]);
    expect(fb.emails).toEqual(["only-b@x"]);
    expect(fa.resets + fb.resets).toBe(0);
  } finally {
    await busA.client.del(busA.log.entries, busA.log.meta, busB.log.entries, busB.log.meta);
    await busA.close();
    await busB.close();
    await defaults.close();
  }
});

test("bad bus options fail at construction, naming the package and the option", () => {
  const url = server.url;
  expect(() => createRedisBus({ url, confirmIntervalMs: 0 })).toThrow(RangeError);
  expect(() => createRedisBus({ url, confirmIntervalMs: 100, blockMs: 60 })).toThrow(
    /@authcache\/adapter-redis: createRedisBus: blockMs/,
  );
  expect(() => createRedisBus({ url, maxLength: 1.5 })).toThrow(/maxLength/);
  expect(() => createRedisBus({})).toThrow(/exactly one/);
  expect(() => createRedisBus({ url, stream: "a{b}" })).toThrow(/stream/);
  expect(() => createRedisBus({ url, prefix: "has space:" })).toThrow(/prefix/);
});
