// Conformance suite options for Valkey/Redis backends, shared by the three runners: bun test
// (which resolves @authcache/adapter-valkey to src), node --test and deno test (the built dist).
// Plain JavaScript so Node 20 can load it without TypeScript stripping.
import { createValkeyStore, createValkeyTransport } from "@authcache/adapter-valkey";
import { controlTransport } from "@authcache/conformance";
import { createLogBus } from "@authcache/core/adapter";
import { appendArgs, logKeys, STREAM_SCRIPTS } from "@authcache/redis-protocol";
import { rawCommand, startCluster, startServer } from "@authcache/test-servers";
import { GlideClient, GlideClusterClient, InfBoundary, Logger, Script } from "@valkey/valkey-glide";

// glide logs server error replies at WARN (NOSCRIPT before a script's first load, refused
// reads of a cut connection): expected in these tests, so only errors are shown.
Logger.setLoggerConfig("error");

/** Starts one server or a 3-master cluster. */
export async function startBackend(kind, topology) {
  if (topology === "standalone") {
    const s = await startServer(kind);
    const nodes = [{ host: s.host, port: s.port }];
    return { kind, topology, addresses: nodes, cluster: false, nodes, stop: () => s.stop() };
  }
  const c = await startCluster(kind);
  return {
    kind,
    topology,
    addresses: c.nodes,
    cluster: true,
    nodes: c.nodes,
    stop: () => c.stop(),
  };
}

/** An admin client the caller closes. */
export function adminClient(b) {
  const addresses = b.addresses.map((a) => ({ host: a.host, port: a.port }));
  return b.cluster
    ? GlideClusterClient.createClient({ addresses, requestTimeout: 2000 })
    : GlideClient.createClient({ addresses, requestTimeout: 2000 });
}

/** Kills (CLIENT KILL ID) every connection whose name is in `names`, on every node. */
export async function killConnections(nodes, names) {
  let killed = 0;
  for (const node of nodes) {
    const list = await rawCommand(node, "CLIENT LIST");
    for (const line of list.split("\n")) {
      const name = /\bname=(\S*)/.exec(line)?.[1];
      const id = /\bid=(\d+)/.exec(line)?.[1];
      if (name && id && names.includes(name)) {
        await rawCommand(node, `CLIENT KILL ID ${id}`);
        killed++;
      }
    }
  }
  return killed;
}

/** Store suite options: the backend is started in setup and stopped in cleanup. */
export function storeSuite(kind, topology, runner) {
  let b;
  return {
    ...runner,
    name: `valkey-glide on ${kind} ${topology}`,
    setup: async () => {
      b = await startBackend(kind, topology);
    },
    cleanup: async () => {
      await b?.stop();
    },
    createStore: async () => {
      if (!b) throw new Error("backend not started");
      return createValkeyStore({ addresses: b.addresses, cluster: b.cluster });
    },
  };
}

/**
 * Bus suite options: a fresh log per test. Each bus is the Valkey transport followed by core's
 * follower, exactly as `createValkeyBus` builds it, with the transport's reads under test
 * control (pause, delay): the test hooks live here, not in the adapter's public types.
 */
export function busSuite(kind, topology, runner) {
  let b;
  let admin;
  let seq = 0;
  const appendScript = new Script(STREAM_SCRIPTS.append);
  return {
    ...runner,
    name: `valkey-glide on ${kind} ${topology}`,
    setup: async () => {
      b = await startBackend(kind, topology);
      admin = await adminClient(b);
    },
    cleanup: async () => {
      admin?.close();
      await b?.stop();
    },
    createLog: async () => {
      if (!b || !admin) throw new Error("backend not started");
      const backend = b;
      const a = admin;
      seq += 1;
      const stream = `bus-test:${process.pid}:${seq}:${Math.random().toString(36).slice(2, 8)}`;
      const keys = logKeys(stream);
      const controls = new Map();
      const of = (bus) => {
        const c = controls.get(bus);
        if (!c) throw new Error("not a bus of this log");
        return c;
      };
      return {
        createBus: async () => {
          const transport = createValkeyTransport({
            addresses: backend.addresses,
            cluster: backend.cluster,
            stream,
          });
          const control = controlTransport(transport);
          const bus = createLogBus(control.transport);
          controls.set(bus, { transport, control });
          return bus;
        },
        pause: (bus) => of(bus).control.pause(),
        resume: (bus) => of(bus).control.resume(),
        delay: (bus, ms) => of(bus).control.delay(ms),
        interrupt: async (bus) => {
          const n = await killConnections(backend.nodes, of(bus).transport.followerNames);
          if (n === 0) throw new Error("interrupt: no follower connection found to kill");
        },
        trim: async (keep) => {
          await a.xtrim(keys.entries, { method: "maxlen", threshold: keep, exact: true });
        },
        // Through the append script: a malformed message, but a well-formed entry of the log.
        appendRaw: async (raw) => {
          await a.invokeScript(appendScript, {
            keys: [keys.entries, keys.meta],
            args: appendArgs(raw, 10_000),
          });
        },
        remove: async (fromEnd) => {
          const newest = await a.xrevrange(
            keys.entries,
            InfBoundary.PositiveInfinity,
            InfBoundary.NegativeInfinity,
            { count: fromEnd + 1 },
          );
          const ids = Object.keys(newest ?? {});
          const id = ids[fromEnd];
          if (id === undefined) throw new Error("remove: no such entry");
          await a.xdel(keys.entries, [id]);
        },
        recreate: async () => {
          await a.del([keys.entries, keys.meta]);
        },
        close: async () => {
          await a.del([keys.entries, keys.meta]);
        },
      };
    },
  };
}

/** Every backend the suites run against. */
export const backends = [
  ["valkey", "standalone"],
  ["valkey", "cluster"],
  ["redis", "standalone"],
  ["redis", "cluster"],
];
