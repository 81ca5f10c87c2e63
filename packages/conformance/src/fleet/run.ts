import type { FleetInstance, FleetProxy, FleetServer, FleetSuiteOptions } from "../options.ts";
import { closeAll, registerSuite } from "../run.ts";
import { openInstance } from "./instance.ts";
import { localPeer, type Peer, processPeer } from "./peers.ts";
import { busIs, type FleetTest, fleetSuite, until } from "./tests.ts";

/**
 * Registers the fleet suite: three AuthCaches sharing one server — A and B in this process,
 * C in a worker process (`options.startWorker`) — whose tests check that invalidations reach
 * every instance within maxStaleMs, that an instance with its bus cut serves nothing sensitive
 * from L1, and that everything recovers by itself after the server is killed and restarted.
 * Tests are named "<options.name> fleet <behaviour>" and share the one fleet, in order.
 */
export function runFleetSuite(options: FleetSuiteOptions): void {
  const stamp = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const maxStaleMs = options.maxStaleMs ?? 600;
  let server: FleetServer | undefined;
  let proxy: FleetProxy | undefined;
  const peers: Peer[] = [];

  // On a cluster, B's bus logs in as its own ACL user, and the suite cuts it by deleting it.
  const busUser = { username: `fleet-b-${stamp}`, password: `pw-${stamp}` };
  const allowBusUser = () =>
    (server as FleetServer).onEveryNode?.(
      `ACL SETUSER ${busUser.username} on >${busUser.password} ~* &* +@all`,
    );
  const clustered = () => server?.nodes !== undefined;

  const setup = async () => {
    await options.setup?.();
    server = await options.startServer();
    const address = { host: server.host, port: server.port };
    const nodes = server.nodes ?? [address];
    if (clustered()) {
      if (!server.onEveryNode)
        throw new Error("@authcache/conformance fleet: a cluster FleetServer needs onEveryNode");
      await allowBusUser();
    } else {
      // B's bus goes through the proxy, so a test can cut it while B's store stays connected.
      proxy = await options.startProxy(address);
    }
    const instance = (label: string, busAddress = address): FleetInstance => ({
      label,
      log: `fleet:${stamp}`,
      prefix: `fleet${stamp}:`,
      maxStaleMs,
      server: address,
      busAddress,
      cluster: clustered(),
      nodes,
      ...(label === "B" && clustered() ? { busUser } : {}),
    });
    peers.push(localPeer("A", await openInstance(instance("A"), options.createInstance)));
    const viaProxy = proxy ? { host: proxy.host, port: proxy.port } : address;
    peers.push(localPeer("B", await openInstance(instance("B", viaProxy), options.createInstance)));
    const worker = [...options.workerCommand, JSON.stringify(instance("C"))];
    peers.push(await processPeer("C (own process)", () => options.startWorker(worker)));
    for (const p of peers) await until(`${p.label} follows the bus`, busIs(p, "up"));
  };
  const cleanup = async () => {
    const failure = await closeAll([...peers].reverse());
    await proxy?.close();
    await server?.stop();
    await options.cleanup?.();
    if (failure !== undefined) throw failure;
  };

  registerSuite(
    { ...options, setup, cleanup },
    "fleet",
    fleetSuite as readonly FleetTest[],
    (t) => {
      const [A, B, C] = peers as [Peer, Peer, Peer];
      const live = server as FleetServer;
      const acl = (command: string) => live.onEveryNode?.(command) ?? Promise.resolve();
      return t.run({
        A,
        B,
        C,
        maxStaleMs,
        cutBus: async () => {
          if (proxy) proxy.partition();
          else await acl(`ACL DELUSER ${busUser.username}`);
        },
        restoreBus: async () => {
          if (proxy) proxy.heal();
          else await allowBusUser();
        },
        killServer: () => live.kill(),
        restartServer: async () => {
          await live.restart();
          // A restarted cluster has lost its ACL users with everything else.
          if (clustered()) await allowBusUser();
        },
      });
    },
  );
}
