import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createConnection } from "node:net";
import {
  startServer,
  startTcpProxy,
  type TcpProxy,
  type TestServer,
} from "@authcache/test-servers";
import { Redis } from "ioredis";

let server: TestServer;
let proxy: TcpProxy;
const clients: Redis[] = [];

function client(extra: Record<string, unknown> = {}): Redis {
  const c = new Redis({
    host: proxy.host,
    port: proxy.port,
    lazyConnect: true,
    retryStrategy: () => 20,
    maxRetriesPerRequest: 1,
    ...extra,
  });
  c.on("error", () => {});
  clients.push(c);
  return c;
}

/** The server's own view: how many clients are connected to it right now. */
async function serverClients(direct: Redis): Promise<number> {
  const list = (await direct.client("LIST")) as string;
  return list.split("\n").filter((l) => l.trim().length > 0).length;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A plain TCP connection through the proxy: `send` writes an inline command and resolves with
 *  the first reply line; `closed` resolves when the proxy resets it. */
async function rawSocket() {
  const socket = createConnection({ host: proxy.host, port: proxy.port });
  socket.on("error", () => {});
  let data = "";
  let waiter: ((line: string) => void) | undefined;
  socket.on("data", (d) => {
    data += d.toString();
    if (waiter && data.includes("\r\n")) {
      const line = data;
      data = "";
      waiter(line);
    }
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  await new Promise<void>((resolve) => socket.on("connect", () => resolve()));
  return {
    socket,
    closed,
    received: () => data,
    send: (command: string) =>
      new Promise<string>((resolve) => {
        waiter = resolve;
        socket.write(`${command}\r\n`);
      }),
  };
}

beforeAll(async () => {
  server = await startServer("redis");
  proxy = await startTcpProxy(server);
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await proxy?.close();
  await server?.stop();
});

describe("TCP proxy (@authcache/test-servers)", () => {
  test("forwards real Redis traffic byte for byte, large values included", async () => {
    const c = client();
    await c.connect();
    const big = `${"x".repeat(1_000_000)}é{}:*`;
    await c.set("proxy:big", big);
    expect(await c.get("proxy:big")).toBe(big);
    const pipeline = c.pipeline();
    for (let i = 0; i < 500; i++) pipeline.set(`proxy:k${i}`, String(i));
    await pipeline.exec();
    expect(await c.mget("proxy:k0", "proxy:k499")).toEqual(["0", "499"]);
    expect(proxy.stats.accepted).toBeGreaterThanOrEqual(1);
    expect(proxy.faultCount).toBe(0);
  });

  test("cut resets every open connection for real: the server sees them go", async () => {
    const direct = new Redis({ host: server.host, port: server.port });
    clients.push(direct);
    const a = client({ retryStrategy: () => null });
    const b = client({ retryStrategy: () => null });
    await a.connect();
    await b.connect();
    await a.ping();
    await b.ping();
    const before = await serverClients(direct);
    let closes = 0;
    a.on("close", () => closes++);
    b.on("close", () => closes++);
    const cutsBefore = proxy.stats.cutConnections;
    const n = proxy.cut();
    expect(n).toBeGreaterThanOrEqual(2);
    await until(() => closes === 2, "both clients to see the cut");
    await until(async () => (await serverClients(direct)) <= before - 2, "server to drop them");
    expect(proxy.stats.cutConnections - cutsBefore).toBe(n);
    expect(proxy.stats.faults.cut).toBe(1);
    expect(a.status).toBe("end");
  });

  test("delay holds every chunk back, in order", async () => {
    const c = client();
    await c.connect();
    proxy.setDelay(120);
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => c.echo(`m${i}`)));
    const took = Date.now() - started;
    proxy.setDelay(0);
    expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    // A lower bound only: the request and its reply each waited the delay at least once.
    expect(took).toBeGreaterThanOrEqual(200);
    expect(proxy.stats.delayedChunks).toBeGreaterThan(0);
    expect(proxy.stats.faults.delay).toBe(1);
  });

  test("blackhole swallows traffic, then resets the connections that lost bytes", async () => {
    const c = client({ commandTimeout: 150 });
    await c.connect();
    await c.set("proxy:bh", "before");
    const cuts = proxy.stats.cutConnections;
    proxy.setBlackhole(true);
    await expect(c.get("proxy:bh")).rejects.toThrow();
    expect(proxy.stats.droppedBytes).toBeGreaterThan(0);
    proxy.setBlackhole(false);
    expect(proxy.stats.cutConnections).toBeGreaterThan(cuts);
    // The client reconnects through the healed proxy and gets the right reply, never a stray one.
    await until(() => c.status === "ready", "reconnect after the blackhole");
    expect(await c.get("proxy:bh")).toBe("before");
    expect(proxy.stats.faults.blackhole).toBe(1);
  });

  test("refuse resets new connections as they arrive", async () => {
    proxy.setRefuse(true);
    const outcome = await new Promise<string>((resolve) => {
      const s = createConnection({ host: proxy.host, port: proxy.port });
      let data = "";
      s.on("connect", () => s.write("PING\r\n"));
      s.on("data", (d) => {
        data += d.toString();
      });
      s.on("error", () => {});
      s.on("close", () => resolve(data === "" ? "closed without reply" : data));
    });
    expect(outcome).toBe("closed without reply");
    expect(proxy.stats.refused).toBe(1);
    proxy.setRefuse(false);
    const c = client();
    await c.connect();
    expect(await c.ping()).toBe("PONG");
    expect(proxy.stats.faults.refuse).toBe(1);
  });

  test("hold keeps new connections silent without losing bytes; lifting it joins them", async () => {
    const c = client({ retryStrategy: () => null });
    proxy.setHold(true);
    const heldBefore = proxy.stats.held;
    const dropped = proxy.stats.droppedBytes;
    const connecting = c.connect();
    await until(() => proxy.stats.held === heldBefore + 1, "the connection to be held");
    let replied = false;
    const pong = c.ping().then((r) => {
      replied = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(replied).toBe(false);
    expect(proxy.stats.droppedBytes).toBe(dropped);
    proxy.setHold(false);
    await connecting;
    // The same connection, not a new one: what the client sent while held reaches the server.
    expect(await pong).toBe("PONG");
    expect(proxy.stats.faults.hold).toBe(1);
  });

  test("partition resets open connections and holds new ones until heal", async () => {
    const open = await rawSocket();
    expect(await open.send("PING")).toBe("+PONG\r\n");
    const cuts = proxy.stats.cutConnections;
    const held = proxy.stats.held;
    proxy.partition();
    await open.closed;
    expect(proxy.stats.cutConnections).toBeGreaterThan(cuts);
    // A new connection is accepted into the partition: held, no reply, nothing lost.
    const late = await rawSocket();
    const reply = late.send("PING");
    await until(() => proxy.stats.held > held, "the new connection to be held");
    await new Promise((r) => setTimeout(r, 100));
    expect(late.received()).toBe("");
    proxy.heal();
    expect(await reply).toBe("+PONG\r\n");
    late.socket.destroy();
  });

  test("heal turns every fault off and close stops everything", async () => {
    const other = await startTcpProxy(server);
    other.setDelay(50);
    other.setRefuse(true);
    other.heal();
    const c = new Redis({ host: other.host, port: other.port, retryStrategy: () => null });
    c.on("error", () => {});
    expect(await c.ping()).toBe("PONG");
    expect(other.stats.active).toBe(1);
    await other.close();
    await until(() => c.status === "end", "client to see the proxy close");
    expect(other.stats.active).toBe(0);
    await other.close();
  });
});
