import type { InvalidationBus, Store } from "@authcache/core";
import type { BusTestName } from "./bus/index.ts";
import type { FleetTestName } from "./fleet/tests.ts";
import type { StoreTestName } from "./store/index.ts";

/**
 * The test runner, passed in so one suite runs under `bun test`, `node --test` and `deno test`.
 * Every test the suite registers is sequential-safe and independent of the others' order.
 */
export interface SuiteRunner {
  /** Registers one test. `timeoutMs` is the suite's budget for it; a runner without per-test
   *  timeouts (Deno.test) may ignore it. */
  test(name: string, fn: () => Promise<void>, timeoutMs: number): void;
  /** Registers a skipped test so the opt-out shows in the runner's report (`test.skip`,
   *  `Deno.test({ ignore: true })`). Without it, opted-out tests are not registered at all. */
  skipTest?(name: string, reason: string): void;
  /** Runs `fn` once before the suite's tests (Bun `beforeAll`, node:test `before`). Without it,
   *  `setup` runs lazily inside the first test that needs the backend. */
  beforeAll?(fn: () => Promise<void>): void;
  /** Runs `fn` once after the suite's tests (Bun `afterAll`, node:test `after`). Without it
   *  (Deno.test), `cleanup` is registered as one last test named "<name> cleanup". */
  afterAll?(fn: () => Promise<void>): void;
}

/** Options shared by every suite. */
interface SuiteBase extends SuiteRunner {
  /** Prefixes every test name, e.g. "redis standalone". */
  readonly name: string;
  /** Prepares shared resources (start a server, open a shared client). Runs once. */
  setup?(): Promise<void>;
  /** Releases what `setup` prepared. Runs once, after every test, even when tests failed. */
  cleanup?(): Promise<void>;
  /** Per-test budget in ms (default 15 000); passed to `test`. */
  readonly timeoutMs?: number;
}

/** Options of `runStoreSuite`. */
export interface StoreSuiteOptions extends SuiteBase {
  /** Returns a Store ready for use. Each test calls it (sometimes twice, for a second instance
   *  on the same backend) and closes what it got with `store.close()`. Tests build their keys
   *  under a prefix unique to the run and to the test, so stores on one shared server or one
   *  shared client do not see each other's keys. */
  createStore(): Promise<Store>;
  /** Named opt-outs. Each value says why the test does not apply and which test covers the
   *  behaviour instead (STYLE.md); an empty reason is rejected. */
  readonly skip?: Partial<Record<StoreTestName, string>>;
  readonly timing?: {
    /** Granularity of the backend's expiry in ms (default 1). Expiry waits scale with it. */
    readonly resolutionMs?: number;
  };
}

/**
 * One invalidation log, fresh for one test, and the hooks that act on it. `runBusSuite` calls
 * `createLog()` once per test, so tests never see each other's entries.
 */
export interface TestLog {
  /** Returns another bus instance following this log (a process of the fleet). Every call
   *  returns a new, independent instance; the suite closes each one with `bus.close()`. */
  createBus(): Promise<InvalidationBus>;
  /** Makes `bus` fall behind: until `resume`, it neither delivers entries nor confirms
   *  (`caughtUp`), while the log keeps growing. Needed by "pause: ..." and "trim: ...". */
  pause?(bus: InvalidationBus): Promise<void> | void;
  /** Ends `pause`: `bus` must deliver what it missed, in order (or reset if trimmed past). */
  resume?(bus: InvalidationBus): Promise<void> | void;
  /** Cuts `bus`'s connection abruptly (kill its socket / CLIENT KILL). The bus must notice
   *  ("down"), reconnect by itself ("up") and resume from its position with nothing lost. */
  interrupt?(bus: InvalidationBus): Promise<void> | void;
  /** Trims the log so only its newest `keep` entries remain. */
  trim?(keep: number): Promise<void> | void;
  /** Appends `raw` to the log as it is, bypassing `encodeMessage` (a malformed entry written by
   *  another system). Followers must drop it, count it in `bus.dropped`, and carry on. */
  appendRaw?(raw: string): Promise<void> | void;
  /** Deletes one entry, `fromEnd` places before the newest (0: the newest), as `XDEL` or a
   *  `DELETE` by id would: a hole in the log. Needed by "gap: ...". */
  remove?(fromEnd: number): Promise<void> | void;
  /** Deletes the log with its identity and lets it be created again by the next append (a
   *  flushed database, a dropped table, a server restarted without persistence). Needed by
   *  "epoch: ...". */
  recreate?(): Promise<void> | void;
  /** Adds `ms` of latency each way to `bus`'s follower reads (requests and replies both wait),
   *  as a slow network would. Needed by "dating: ...". */
  delay?(bus: InvalidationBus, ms: number): Promise<void> | void;
  /** Releases the log (delete the stream / table). Runs after the test's buses are closed. */
  close?(): Promise<void>;
}

/** Options of `runBusSuite`. */
export interface BusSuiteOptions extends SuiteBase {
  /** Returns a fresh, empty log (its own stream key / table / in-memory array) with hooks. */
  createLog(): Promise<TestLog>;
  /** Named opt-outs, as for the store suite. A test whose hook is missing must be listed
   *  here; otherwise that test fails, naming the hook it needs. */
  readonly skip?: Partial<Record<BusTestName, string>>;
  readonly timing?: {
    /** The `confirmIntervalMs` the buses were created with (default 250). Waits for
     *  confirmations scale with it. */
    readonly confirmIntervalMs?: number;
  };
}

/** The fleet's server: `startServer` of `@authcache/test-servers` returns one. A cluster gives
 *  its masters in `nodes` and `onEveryNode` (host and port are then its first master). */
export interface FleetServer {
  readonly host: string;
  readonly port: number;
  /** The masters of a cluster; absent for one server. */
  readonly nodes?: readonly { readonly host: string; readonly port: number }[];
  /** Runs one command (words separated by spaces) on every node. A cluster needs it: no proxy
   *  can sit in front of a cluster client that finds its nodes by itself, so instance B's bus
   *  is cut by deleting the ACL user it logs in as (which also closes its connections). */
  onEveryNode?(command: string): Promise<void>;
  /** Kills the server abruptly (every instance loses its store and bus connections). */
  kill(): Promise<void>;
  /** Starts the killed server again on the same address. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** One instance of the fleet, as the adapter builds it (in this process or in the worker).
 *  Plain data: the suite hands it to the worker as JSON. */
export interface FleetInstance {
  /** "A", "B" or "C". */
  readonly label: string;
  /** A name unique to this run for the shared invalidation log (a stream key, a table). */
  readonly log: string;
  /** The AuthCache key prefix every instance uses. */
  readonly prefix: string;
  /** The AuthCaches' `maxStaleMs`. */
  readonly maxStaleMs: number;
  /** Where the store connects: the server (a cluster's first master). */
  readonly server: { readonly host: string; readonly port: number };
  /** Where the bus connects: the server, except for B on one server, whose bus goes through the
   *  suite's proxy so that the suite can cut it while B's store stays connected. */
  readonly busAddress: { readonly host: string; readonly port: number };
  /** True on a cluster: connect to `nodes` with a cluster client. */
  readonly cluster: boolean;
  /** The cluster's masters (on one server: the server). */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** On a cluster, B's bus logs in as this ACL user (the suite cuts it by deleting the user). */
  readonly busUser?: { readonly username: string; readonly password: string };
}

/** Builds an instance's store and bus, each on its own connections. The caller closes them. */
export type CreateFleetInstance = (
  instance: FleetInstance,
) => Promise<{ store: Store; bus: InvalidationBus }> | { store: Store; bus: InvalidationBus };

/** A loopback TCP proxy in front of the fleet's server, for instance B's bus only
 *  (`startTcpProxy` of @authcache/test-servers is one). */
export interface FleetProxy {
  readonly host: string;
  readonly port: number;
  /** A network partition: resets every proxied connection and holds new ones silent (accepted,
   *  nothing read, nothing lost), so a reconnect attempt hangs as into a partition. */
  partition(): void;
  /** Ends the partition: held connections are joined to the server, new ones proxied again. */
  heal(): void;
  close(): Promise<void>;
}

/** Instance C's process, once it said ready (`startWorker` of @authcache/test-servers returns
 *  one). Its other side is `fleetWorker`, served by the same transport. */
export interface FleetWorkerProcess {
  /** The worker's ready payload: `fleetWorker`'s `{ busState }`. */
  readonly ready: unknown;
  /** Calls a method of C's AuthCache (or `stats`); rejects with its error, or at once if the
   *  process has exited. */
  request(method: string, ...args: unknown[]): Promise<unknown>;
  /** Makes the worker close its instance and exit; waits for the exit. */
  close(): Promise<void>;
  /** Kills the process (SIGKILL) and waits for the exit. */
  kill(): Promise<void>;
}

/** Options of `runFleetSuite`: three AuthCaches on one server, one of them in its own process. */
export interface FleetSuiteOptions extends SuiteBase {
  /** Starts the fleet's server (once, in setup; the suite stops it in cleanup). A missing
   *  server binary must throw. */
  startServer(): Promise<FleetServer>;
  /** Builds instances A and B (in this process). */
  createInstance: CreateFleetInstance;
  /** The argv (executable first) of the worker process, instance C: a script that serves
   *  `fleetWorker(createInstance)`. The suite appends one argument, the instance as JSON. */
  readonly workerCommand: readonly string[];
  /** Starts the worker from `argv` (`workerCommand` and the instance) and resolves once it is
   *  ready: `startWorker` of @authcache/test-servers, or a transport of your own. */
  startWorker(argv: readonly string[]): Promise<FleetWorkerProcess>;
  /** Starts the TCP proxy B's bus goes through on one server (not called on a cluster, where
   *  B's bus is cut by deleting its ACL user): `startTcpProxy` of @authcache/test-servers. */
  startProxy(target: { readonly host: string; readonly port: number }): Promise<FleetProxy>;
  /** The instances' `maxStaleMs` (default 600). Tests sleep this long before asserting. */
  readonly maxStaleMs?: number;
  /** Named opt-outs, as for the other suites. */
  readonly skip?: Partial<Record<FleetTestName, string>>;
}
