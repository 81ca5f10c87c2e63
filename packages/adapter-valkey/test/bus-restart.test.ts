import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { controlTransport } from "@authcache/conformance";
import type { InvalidationBus } from "@authcache/core";
import type { InvalidationMessage } from "@authcache/core/adapter";
import { createLogBus } from "@authcache/core/adapter";
import { startServer, type TestServer } from "@authcache/test-servers";
import { createValkeyBus, createValkeyStore, createValkeyTransport } from "../src/index.ts";
import "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, what: string, attempts = 1500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Publishes, retrying while the publisher's client is still reconnecting after a restart
 *  (an invalidation that fails is reported to its caller, who retries the same way). */
async function publishRetrying(bus: InvalidationBus, email: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await bus.publish({ type: "user", email });
      return;
    } catch (err) {
      if (attempt > 200) throw err;
      await sleep(20);
    }
  }
}

interface Seen {
  emails: string[];
  resets: number;
  confirms: number;
  states: string[];
  order: string[];
}

async function follow(bus: InvalidationBus): Promise<Seen> {
  const seen: Seen = { emails: [], resets: 0, confirms: 0, states: [], order: [] };
  bus.onState((s) => seen.states.push(s));
  await bus.subscribe({
    message: (m: InvalidationMessage) => {
      if (m.type === "user") {
        seen.emails.push(m.email);
        seen.order.push(m.email);
      }
    },
    reset: () => {
      seen.resets++;
      seen.order.push("reset");
    },
    caughtUp: () => {
      seen.confirms++;
    },
  });
  return seen;
}

for (const kind of ["valkey", "redis"] as const) {
  describe(`${kind}: the bus across a server kill and restart`, () => {
    let server: TestServer;
    const buses: InvalidationBus[] = [];
    const open = (stream: string) => {
      const bus = createValkeyBus({
        addresses: [{ host: server.host, port: server.port }],
        stream,
        // Reconnect quickly after the restart.
        clientConfig: { connectionBackoff: { numberOfRetries: 5, factor: 20, exponentBase: 2 } },
      });
      buses.push(bus);
      return bus;
    };
    beforeAll(async () => {
      server = await startServer(kind);
    }, 30_000);
    afterAll(async () => {
      for (const b of buses) await b.close();
      await server?.stop();
    }, 30_000);

    test("goes down, comes back by itself, resets (the log restarted empty) and delivers again", async () => {
      const publisher = open("restart-1");
      const seen = await follow(open("restart-1"));
      await until(() => seen.states.at(-1) === "up", "up");
      await publisher.publish({ type: "user", email: "before@x.com" });
      await until(() => seen.emails.includes("before@x.com"), "first entry");

      await server.kill();
      await until(() => seen.states.at(-1) === "down", "down after the kill");
      await expect(publisher.publish({ type: "user", email: "lost@x.com" })).rejects.toThrow();
      const confirmsWhileDown = seen.confirms;
      await sleep(300);
      expect(seen.confirms).toBe(confirmsWhileDown); // nothing confirmed without a server

      await server.restart();
      await until(() => seen.states.at(-1) === "up", "up after the restart");
      await until(() => seen.resets === 1, "a reset: entries may have been lost with the log");
      await publishRetrying(publisher, "after@x.com");
      await until(() => seen.emails.includes("after@x.com"), "an entry after the restart");
      const confirms = seen.confirms;
      await until(() => seen.confirms > confirms + 2, "confirmations resumed");
      expect(seen.order).toEqual(["before@x.com", "reset", "after@x.com"]);
    }, 60_000);

    test("a log recreated by others during the outage is recognised as new (its epoch)", async () => {
      const publisher = open("restart-2");
      // The follower's reads are held (test control, not a bus hook): it cannot notice the
      // outage by itself, and the recreated log has more entries than it had read, so only
      // the log's epoch tells the logs apart.
      const control = controlTransport(
        createValkeyTransport({
          addresses: [{ host: server.host, port: server.port }],
          stream: "restart-2",
          clientConfig: { connectionBackoff: { numberOfRetries: 5, factor: 20, exponentBase: 2 } },
        }),
      );
      const follower = createLogBus(control.transport);
      buses.push(follower);
      const seen = await follow(follower);
      for (let i = 0; i < 2; i++) await publisher.publish({ type: "user", email: `old${i}@x.com` });
      await until(() => seen.emails.length === 2, "2 entries");
      control.pause();
      await server.kill();
      await server.restart();
      for (let i = 0; i < 5; i++) await publishRetrying(publisher, `new${i}@x.com`);
      control.resume();
      await until(() => seen.resets === 1, "a reset");
      await publishRetrying(publisher, "after@x.com");
      await until(() => seen.emails.includes("after@x.com"), "the entry after the reset");
      // The new log's first entries are covered by the flush, not delivered after it.
      expect(seen.order).toEqual(["old0@x.com", "old1@x.com", "reset", "after@x.com"]);
    }, 60_000);

    test("started while the server is down: store and bus work once it is up, the bus resets", async () => {
      await server.kill();
      const store = createValkeyStore({ addresses: [{ host: server.host, port: server.port }] });
      try {
        await expect(store.get("k")).rejects.toThrow(/could not connect/);
        const publisher = open("restart-3");
        const seen = await follow(open("restart-3")); // resolves although nothing answers
        expect(seen.states.includes("up")).toBe(false);
        await server.restart();
        await until(() => seen.states.at(-1) === "up", "up once the server is there");
        // Entries appended before it knew its position could have been missed: it resets.
        await until(() => seen.resets === 1, "a reset on learning its position late");
        await publishRetrying(publisher, "late@x.com");
        await until(() => seen.emails.includes("late@x.com"), "delivery");
        for (let i = 0; ; i++) {
          try {
            await store.set("k", "v", Date.now() + 60_000);
            break;
          } catch (err) {
            if (i > 200) throw err;
            await sleep(20);
          }
        }
        expect(await store.get("k")).toBe("v");
      } finally {
        await store.close();
      }
    }, 60_000);
  });
}
