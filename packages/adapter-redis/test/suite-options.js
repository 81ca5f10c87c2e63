// Options of the conformance suites for the Redis adapter, shared by the three runners (bun test
// imports src; node --test and deno test import the built dist). Plain JS so Node 20 loads it
// without a TypeScript step; types in suite-options.d.ts.
//
// Four backends, each a real server started by @authcache/test-servers: standalone Redis 7,
// standalone Valkey 8 and a 3-master cluster of each. The same ioredis adapter talks to both.
import { appendArgs, logKeys, STREAM_SCRIPTS } from "@authcache/redis-protocol";
import { startProxy } from "./tcp-proxy.js";

export const TARGETS = [
  { label: "redis standalone", kind: "redis", cluster: false },
  { label: "valkey standalone", kind: "valkey", cluster: false },
  { label: "redis cluster", kind: "redis", cluster: true },
  { label: "valkey cluster", kind: "valkey", cluster: true },
];

const CONFIRM_MS = 100;

/** @param {import("./suite-options.d.ts").SuiteDeps} deps */
export function redisSuites(deps) {
  return TARGETS.map((target) => suitesFor(deps, target));
}

/**
 * @param {import("./suite-options.d.ts").SuiteDeps} deps
 * @param {(typeof TARGETS)[number]} target
 */
function suitesFor(deps, target) {
  // One backend per target, shared by its store and bus suites (started by whichever suite
  // sets up first, stopped when the last one cleans up).
  let users = 0;
  /** @type {Promise<import("./suite-options.d.ts").Backend> | undefined} */
  let starting;
  /** @type {import("./suite-options.d.ts").Backend | undefined} */
  let backend;

  const start = async () => {
    if (target.cluster) {
      const cluster = await deps.startCluster(target.kind);
      const admin = new deps.Cluster(cluster.nodes, { lazyConnect: false });
      const nodeAdmins = cluster.nodes.map((n) => new deps.Redis({ host: n.host, port: n.port }));
      return { nodes: cluster.nodes, admin, nodeAdmins, stop: () => cluster.stop() };
    }
    const server = await deps.startServer(target.kind);
    const admin = new deps.Redis({ host: server.host, port: server.port });
    return {
      nodes: [{ host: server.host, port: server.port }],
      admin,
      nodeAdmins: [admin],
      stop: () => server.stop(),
    };
  };
  const acquire = async () => {
    users++;
    starting ??= start();
    backend = await starting;
  };
  const release = async () => {
    users--;
    if (users > 0 || !backend) return;
    const b = backend;
    backend = undefined;
    starting = undefined;
    await b.admin.quit().catch(() => {});
    for (const a of b.nodeAdmins) if (a !== b.admin) await a.quit().catch(() => {});
    await b.stop();
  };
  const live = () => {
    if (!backend) throw new Error(`${target.label}: backend not started`);
    return backend;
  };
  /** @param {{ host: string; port: number }[]} nodes */
  const connection = (nodes) => {
    const first = /** @type {{ host: string; port: number }} */ (nodes[0]);
    return target.cluster ? { nodes } : { host: first.host, port: first.port };
  };

  const store = {
    name: target.label,
    setup: acquire,
    cleanup: release,
    createStore: async () => deps.createRedisStore(connection(live().nodes)),
    timing: { resolutionMs: 1 },
  };

  const bus = {
    name: target.label,
    setup: acquire,
    cleanup: release,
    timing: { confirmIntervalMs: CONFIRM_MS },
    createLog: async () => {
      const { nodes, admin, nodeAdmins } = live();
      const stream = `conformance:${crypto.randomUUID()}`;
      const keys = logKeys(stream);
      /** @type {import("./tcp-proxy.d.ts").TcpProxy[]} */
      const proxies = [];
      /** @type {Map<unknown, { proxies: import("./tcp-proxy.d.ts").TcpProxy[]; name: string }>} */
      const buses = new Map();
      /** @param {unknown} b */
      const of = (b) => {
        const found = buses.get(b);
        if (!found) throw new Error("not a bus of this log");
        return found;
      };
      return {
        // Each bus reaches the server through its own proxies, so one bus can fall behind
        // (pause) while the others carry on.
        createBus: async () => {
          const own = await Promise.all(nodes.map((n) => startProxy(n)));
          proxies.push(...own);
          const name = `ab-${crypto.randomUUID().slice(0, 8)}`;
          const via = own.map((p) => ({ host: p.host, port: p.port }));
          const natMap = Object.fromEntries(
            own.map((p) => [`${p.target.host}:${p.target.port}`, { host: p.host, port: p.port }]),
          );
          const b = deps.createRedisBus({
            ...connection(via),
            ...(target.cluster ? { clusterOptions: { natMap } } : {}),
            stream,
            confirmIntervalMs: CONFIRM_MS,
            // Pauses last a few hundred ms: the dead-socket watchdog must not fire during them.
            replyTimeoutMs: 5000,
            connectionName: name,
          });
          buses.set(b, { proxies: own, name });
          return b;
        },
        pause: (b) => {
          for (const p of of(b).proxies) p.pause();
        },
        resume: (b) => {
          for (const p of of(b).proxies) p.resume();
        },
        // The server kills the follower's socket (CLIENT KILL), as a failover or a network
        // fault would.
        interrupt: async (b) => {
          const { name } = of(b);
          let killed = 0;
          for (const a of nodeAdmins) {
            const list = /** @type {string} */ (await a.client("LIST"));
            for (const line of list.split("\n")) {
              if (!line.includes(` name=${name} `)) continue;
              const id = /id=(\d+)/.exec(line)?.[1];
              if (id) killed += Number(await a.client("KILL", "ID", id));
            }
          }
          if (killed === 0) throw new Error(`no connection named ${name} to kill`);
        },
        trim: async (keep) => {
          await admin.xtrim(keys.entries, "MAXLEN", keep);
        },
        // Through the append script: a malformed message, but a well-formed entry of the log.
        appendRaw: async (raw) => {
          await admin.eval(
            STREAM_SCRIPTS.append,
            2,
            keys.entries,
            keys.meta,
            ...appendArgs(raw, 10_000),
          );
        },
        remove: async (fromEnd) => {
          const newest = await admin.xrevrange(keys.entries, "+", "-", "COUNT", fromEnd + 1);
          const id = newest.at(-1)?.[0];
          if (newest.length !== fromEnd + 1 || id === undefined)
            throw new Error("remove: no such entry");
          await admin.xdel(keys.entries, id);
        },
        recreate: async () => {
          await admin.del(keys.entries, keys.meta);
        },
        delay: (b, ms) => {
          for (const p of of(b).proxies) p.setDelay(ms);
        },
        close: async () => {
          await admin.del(keys.entries, keys.meta);
          await Promise.all(proxies.map((p) => p.close()));
        },
      };
    },
  };

  return { target, store, bus };
}
