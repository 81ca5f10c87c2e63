import { afterAll, beforeAll, test } from "bun:test";
import type { BusSuiteOptions, StoreSuiteOptions, TestLog } from "@authcache/conformance";
import {
  type HostPort,
  rawCommand,
  type ServerKind,
  startCluster,
  startServer,
} from "@authcache/test-servers";
import { GlideClient, GlideClusterClient, Logger } from "@valkey/valkey-glide";
import {
  createValkeyBus,
  createValkeyStore,
  type ValkeyAddress,
  type ValkeyBus,
  type ValkeyClient,
} from "../src/index.ts";

// glide logs every server error reply at WARN on stderr (NOSCRIPT before a script's first
// load, the refused reads of a killed server...): expected here, so only errors are shown.
Logger.setLoggerConfig("error");

export type Topology = "standalone" | "cluster";

/** A running backend for one test file: one server or a 3-master cluster. */
export interface Backend {
  readonly kind: ServerKind;
  readonly topology: Topology;
  readonly addresses: ValkeyAddress[];
  readonly cluster: boolean;
  readonly nodes: HostPort[];
  stop(): Promise<void>;
}

export async function startBackend(kind: ServerKind, topology: Topology): Promise<Backend> {
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

/** An admin client the test opens (and closes) itself. */
export function adminClient(b: Backend): Promise<ValkeyClient> {
  const addresses = b.addresses.map((a) => ({ host: a.host, port: a.port }));
  return b.cluster
    ? GlideClusterClient.createClient({ addresses, requestTimeout: 2000 })
    : GlideClient.createClient({ addresses, requestTimeout: 2000 });
}

/** Kills (CLIENT KILL ID) every connection whose name is in `names`, on every node. */
export async function killConnections(
  nodes: HostPort[],
  names: readonly string[],
): Promise<number> {
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

/** The runner hooks of bun:test, for the conformance suites. */
export const bunRunner = {
  test: (name: string, fn: () => Promise<void>, timeoutMs: number) => test(name, fn, timeoutMs),
  skipTest: (name: string, _reason: string) => test.skip(name, () => {}),
  beforeAll: (fn: () => Promise<void>) => beforeAll(fn, 60_000),
  afterAll: (fn: () => Promise<void>) => afterAll(fn, 60_000),
};

/** Store suite options for `backend()` (started in setup, stopped in cleanup). */
export function storeSuite(kind: ServerKind, topology: Topology): StoreSuiteOptions {
  let b: Backend | undefined;
  return {
    ...bunRunner,
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

/** Bus suite options: a fresh Stream per test, with pause/interrupt/trim/appendRaw hooks. */
export function busSuite(kind: ServerKind, topology: Topology): BusSuiteOptions {
  let b: Backend | undefined;
  let admin: ValkeyClient | undefined;
  let seq = 0;
  return {
    ...bunRunner,
    name: `valkey-glide on ${kind} ${topology}`,
    setup: async () => {
      b = await startBackend(kind, topology);
      admin = await adminClient(b);
    },
    cleanup: async () => {
      admin?.close();
      await b?.stop();
    },
    createLog: async (): Promise<TestLog> => {
      if (!b || !admin) throw new Error("backend not started");
      const backend = b;
      const a = admin;
      seq += 1;
      const stream = `bus-test:${process.pid}:${seq}:${Math.random().toString(36).slice(2, 8)}`;
      return {
        createBus: async () =>
          createValkeyBus({ addresses: backend.addresses, cluster: backend.cluster, stream }),
        pause: (bus) => (bus as ValkeyBus).setDeaf(true),
        resume: (bus) => (bus as ValkeyBus).setDeaf(false),
        interrupt: async (bus) => {
          const n = await killConnections(backend.nodes, (bus as ValkeyBus).followerNames);
          if (n === 0) throw new Error("interrupt: no follower connection found to kill");
        },
        trim: async (keep) => {
          await a.xtrim(stream, { method: "maxlen", threshold: keep, exact: true });
        },
        appendRaw: async (raw) => {
          await a.xadd(stream, [["m", raw]]);
        },
        close: async () => {
          await a.del([stream]);
        },
      };
    },
  };
}
