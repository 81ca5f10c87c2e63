// A loopback TCP proxy in front of a server, so tests can partition one client (pause: its
// connections are cut and new ones hang until resume) or kill its sockets (cut), while the
// server and the other clients carry on. Plain JS so bun test, node --test and deno test all load it.
import { connect, createServer } from "node:net";

/**
 * @param {{ host: string; port: number }} target
 * @returns {Promise<import("./tcp-proxy.d.ts").TcpProxy>}
 */
export function startProxy(target) {
  /** @type {Set<{ client: import("node:net").Socket; upstream: import("node:net").Socket }>} */
  const pairs = new Set();
  /** @type {Set<import("node:net").Socket>} */
  const held = new Set();
  let paused = false;
  let delayMs = 0;
  /** Writes `d` to `to`, `delayMs` late (a constant delay keeps the order of chunks).
   * @param {import("node:net").Socket} to
   * @param {Buffer} d */
  const forward = (to, d) => {
    if (delayMs === 0) to.write(d);
    else
      setTimeout(() => {
        if (!to.destroyed) to.write(d);
      }, delayMs);
  };
  const server = createServer((client) => {
    if (paused) {
      // Accepted but silent until resume: a reconnect attempt hangs like one into a partition.
      client.pause();
      held.add(client);
      client.on("error", () => client.destroy());
      client.on("close", () => held.delete(client));
      return;
    }
    join(client);
  });
  /** @param {import("node:net").Socket} client */
  const join = (client) => {
    const upstream = connect({ host: target.host, port: target.port });
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (d) => forward(upstream, d));
    upstream.on("data", (d) => forward(client, d));
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
    client.resume();
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({
        host: "127.0.0.1",
        port,
        target,
        pause() {
          paused = true;
          this.cut();
        },
        resume() {
          paused = false;
          const waiting = [...held];
          held.clear();
          for (const client of waiting) {
            client.removeAllListeners("close");
            client.removeAllListeners("error");
            if (!client.destroyed) join(client);
          }
        },
        /** @param {number} ms */
        setDelay(ms) {
          delayMs = Math.max(0, ms);
        },
        cut() {
          for (const p of pairs) {
            p.client.destroy();
            p.upstream.destroy();
          }
          pairs.clear();
        },
        close() {
          this.cut();
          for (const client of held) client.destroy();
          held.clear();
          return new Promise((done) => server.close(() => done(undefined)));
        },
      });
    });
  });
}
