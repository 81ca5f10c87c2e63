import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";

/** A loopback TCP proxy in front of the fleet's server, for instance B's bus only. */
export interface CutProxy {
  readonly host: string;
  readonly port: number;
  /** Destroys every proxied connection; new ones are accepted but stay silent until `restore`,
   *  so a reconnect attempt hangs like one into a network partition. */
  cut(): void;
  /** Joins the held connections to the server and proxies new ones again. */
  restore(): void;
  close(): Promise<void>;
}

export async function startCutProxy(target: { host: string; port: number }): Promise<CutProxy> {
  const pairs = new Set<readonly [Socket, Socket]>();
  const held = new Set<Socket>();
  let cut = false;
  const destroyPairs = () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  const join = (client: Socket) => {
    const upstream = connect(target);
    const pair = [client, upstream] as const;
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) socket.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  };
  const release = (client: Socket) => () => {
    held.delete(client);
    client.destroy();
  };
  const server = createServer((client) => {
    if (!cut) return join(client);
    client.pause();
    held.add(client);
    client.on("error", release(client)).on("close", release(client));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    host: "127.0.0.1",
    port,
    cut() {
      cut = true;
      destroyPairs();
    },
    restore() {
      cut = false;
      const waiting = [...held];
      held.clear();
      for (const client of waiting) {
        client.removeAllListeners("error").removeAllListeners("close");
        if (!client.destroyed) join(client);
      }
    },
    close() {
      destroyPairs();
      for (const client of held) client.destroy();
      held.clear();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}
