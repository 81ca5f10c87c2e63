/**
 * Throwaway redis-server / valkey-server processes for tests and benchmarks: free loopback
 * ports, a private temp directory, no persistence, stopped by PID when the process exits
 * (normally, on a signal, or killed: a watchdog outlives us only until it notices).
 *
 * Environment variables point the tests at servers a user already runs instead:
 *   AUTHCACHE_REDIS_URL / AUTHCACHE_VALKEY_URL               redis://127.0.0.1:6379
 *   AUTHCACHE_REDIS_CLUSTER / AUTHCACHE_VALKEY_CLUSTER       127.0.0.1:7000,127.0.0.1:7001,...
 *   REDIS_SERVER_BIN / VALKEY_SERVER_BIN (and REDIS_CLI_BIN / VALKEY_CLI_BIN)   binaries to run
 * Servers named by URL are never stopped, killed or flushed by the harness.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export * from "./proxy.ts";
export * from "./worker.ts";

export type ServerKind = "redis" | "valkey";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface TestServer extends HostPort {
  readonly kind: ServerKind;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** PID of the server process, or undefined for a server given by environment variable. */
  readonly pid: number | undefined;
  /** True when the harness started it (and so may kill, restart and stop it). */
  readonly owned: boolean;
  /** Kills the server abruptly (SIGKILL), keeping its port for `restart()`. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (empty: no persistence) and waits until ready. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** The last `lines` lines of the server's log ("" for a server it did not start). */
  logTail(lines?: number): string;
}

export interface TestCluster {
  readonly kind: ServerKind;
  /** The masters at creation (3 by default), each serving a third of the slots. */
  readonly nodes: HostPort[];
  /** Every node started, masters first, then replicas (equal to `nodes` without replicas). */
  readonly allNodes: HostPort[];
  readonly owned: boolean;
  /** The topology as the cluster sees it now (from `CLUSTER NODES` of a live node). */
  topology(): Promise<ClusterNodeInfo[]>;
  /** Kills one node abruptly (SIGKILL); its port stays reserved for `restartNode`. */
  killNode(node: HostPort): Promise<void>;
  /** Starts a killed node again on its port (it rejoins with its old cluster identity). */
  restartNode(node: HostPort): Promise<void>;
  /** Freezes one node (SIGSTOP): it keeps its connections but answers nothing, so a frozen
   *  replica stops replicating (its master acknowledges writes the replica never gets). */
  pauseNode(node: HostPort): Promise<void>;
  /** Thaws a node frozen by `pauseNode` (SIGCONT). */
  resumeNode(node: HostPort): Promise<void>;
  /** Promotes `replica` with `CLUSTER FAILOVER` (`force` when its master is down, `takeover`
   *  without the majority's agreement) and waits until it serves as a master and the cluster
   *  is ok again. */
  failover(replica: HostPort, mode?: "force" | "takeover"): Promise<void>;
  /** Waits until every slot is served by a live master and every live node says
   *  `cluster_state:ok` (after a master kill, a replica is promoted by the cluster itself). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Moves `slots` slots from one master to another with `--cluster reshard`, as operators do,
   *  keys included (clients see MOVED/ASK while it runs). Returns how many keys moved is not
   *  reported; it resolves once the move is complete. */
  reshard(from: HostPort, to: HostPort, slots: number): Promise<void>;
  stop(): Promise<void>;
}

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeInfo extends HostPort {
  readonly id: string;
  readonly role: "master" | "replica";
  /** The master's id for a replica. */
  readonly masterId: string | undefined;
  /** True when the cluster marks it failed (`fail` or `fail?`) or disconnected. */
  readonly failed: boolean;
  /** Number of slots it serves (masters). */
  readonly slots: number;
}

const HOST = "127.0.0.1";
const live = new Set<{ stop(): Promise<void>; killNow(): void }>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const s of live) s.killNow();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      for (const s of live) s.killNow();
      process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
    });
  }
}

const INSTALL_HINT: Record<ServerKind, string> = {
  redis:
    "install it (Debian/Ubuntu: apt-get install redis-server; or run scripts/bootstrap --servers as root), " +
    "set REDIS_SERVER_BIN to a redis-server binary, or set AUTHCACHE_REDIS_URL to a running server",
  valkey:
    "install it (Debian 12: apt-get install -t bookworm-backports valkey-server; or run scripts/bootstrap --servers as root), " +
    "set VALKEY_SERVER_BIN to a valkey-server binary, or set AUTHCACHE_VALKEY_URL to a running server",
};

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter).concat(["/usr/bin", "/usr/sbin"])) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** The server binary for `kind`, or a loud error with an install hint. */
export function serverBinary(kind: ServerKind): string {
  const env = kind === "redis" ? process.env.REDIS_SERVER_BIN : process.env.VALKEY_SERVER_BIN;
  const bin = env || which(`${kind}-server`);
  if (!bin) throw new Error(`test-servers: ${kind}-server not found: ${INSTALL_HINT[kind]}`);
  return bin;
}

function cliBinary(kind: ServerKind): string {
  const env = kind === "redis" ? process.env.REDIS_CLI_BIN : process.env.VALKEY_CLI_BIN;
  const bin = env || which(`${kind}-cli`) || which("redis-cli") || which("valkey-cli");
  if (!bin) throw new Error(`test-servers: ${kind}-cli not found: ${INSTALL_HINT[kind]}`);
  return bin;
}

/** Whether `port` can be bound on loopback now (bound and released at once). */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** The low end of the kernel's ephemeral port range (where outgoing connections take their
 *  local ports), 32768 when it cannot be read. */
function ephemeralLow(): number {
  try {
    const low = Number(
      readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * A free TCP port on loopback for a server, below the kernel's ephemeral range, so an outgoing
 * connection never takes it while a test has the server killed. With `clusterBus`, the port
 * 10 000 above it (the cluster bus, which must be 65535 or less) is free and below that range
 * too. Bound and released: a server that then fails to bind is started again on another port.
 */
export async function freePort(options: { clusterBus?: boolean } = {}): Promise<number> {
  const top = Math.min(ephemeralLow(), 65536) - 1 - (options.clusterBus ? 10_000 : 0);
  const bottom = 10_000;
  for (let attempt = 0; attempt < 500 && top > bottom; attempt++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom + 1));
    if (!(await canBind(port))) continue;
    if (options.clusterBus && !(await canBind(port + 10_000))) continue;
    return port;
  }
  throw new Error(
    `test-servers: no free loopback port${options.clusterBus ? " (with its cluster bus port)" : ""} between ${bottom} and ${top}`,
  );
}

/** Sends one inline command and returns the raw reply (enough for PING and INFO). */
export function rawCommand(target: HostPort, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: target.host, port: target.port });
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`test-servers: no reply from ${target.host}:${target.port}`));
    }, timeoutMs);
    sock.on("connect", () => sock.write(`${command}\r\n`));
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      // A simple or error reply ends at its first CRLF; a bulk reply carries its length.
      const bulk = /^\$(\d+)\r\n/.exec(buf);
      const done =
        buf.startsWith("$-1\r\n") ||
        (buf[0] !== "$" && buf.includes("\r\n")) ||
        (bulk !== null && buf.length >= bulk[0].length + Number(bulk[1]));
      if (done) {
        clearTimeout(timer);
        sock.end();
        resolve(buf);
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function waitReady(
  target: HostPort,
  proc: ChildProcess | undefined,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null)
      throw new Error(`test-servers: ${what} exited with ${proc.exitCode}`);
    try {
      if ((await rawCommand(target, "PING", 500)).startsWith("+PONG")) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`test-servers: ${what} not ready after 15 s`, { cause: last });
}

function parseUrl(url: string): HostPort {
  const u = new URL(url);
  return { host: u.hostname || HOST, port: Number(u.port || 6379) };
}

interface Spawned {
  proc: ChildProcess;
  watchdog: ChildProcess;
}

function spawnServer(kind: ServerKind, port: number, dir: string, extra: string[]): Spawned {
  const args = [
    "--port",
    String(port),
    "--bind",
    HOST,
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--dir",
    dir,
    "--logfile",
    join(dir, `server-${port}.log`),
    "--protected-mode",
    "yes",
    ...extra,
  ];
  // Its standard error goes to a file: a bad argument is reported there, before the log opens.
  const stderr = openSync(join(dir, "stderr.log"), "a");
  const proc = spawn(serverBinary(kind), args, {
    stdio: ["ignore", "ignore", stderr],
    detached: false,
  });
  closeSync(stderr);
  proc.unref();
  // The watchdog stops the server if this process dies without running its exit hooks (SIGKILL).
  const watchdog = spawn(
    "sh",
    [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${proc.pid} 2>/dev/null; do sleep 1; done; kill -9 ${proc.pid} 2>/dev/null`,
    ],
    { stdio: "ignore", detached: true },
  );
  watchdog.unref();
  return { proc, watchdog };
}

/** The last lines of a server's log file (why it exited), or "" when there is none. */
function serverLogTail(dir: string, port: number, lines = 5): string {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), "utf8");
    } catch {
      return "";
    }
  };
  const text = `${read("stderr.log")}${read(`server-${port}.log`)}`.trimEnd();
  return text.split("\n").slice(-lines).join("\n");
}

function killSpawned(s: Spawned | undefined): void {
  if (!s) return;
  try {
    if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
  } catch {}
  try {
    s.watchdog.kill("SIGKILL");
  } catch {}
}

async function waitExit(s: Spawned | undefined): Promise<void> {
  if (!s || s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 3000);
    s.proc.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Starts (or, with AUTHCACHE_<KIND>_URL set, reuses) a standalone server. */
export async function startServer(
  kind: ServerKind,
  options: { args?: string[] } = {},
): Promise<TestServer> {
  const envUrl =
    kind === "redis" ? process.env.AUTHCACHE_REDIS_URL : process.env.AUTHCACHE_VALKEY_URL;
  if (envUrl) {
    const hp = parseUrl(envUrl);
    await waitReady(hp, undefined, `${kind} at ${envUrl}`);
    const refuse = async () => {
      throw new Error(
        `test-servers: ${kind} at ${envUrl} was given by AUTHCACHE_${kind.toUpperCase()}_URL; the harness does not kill or restart it`,
      );
    };
    return {
      kind,
      ...hp,
      url: `redis://${hp.host}:${hp.port}`,
      pid: undefined,
      owned: false,
      kill: refuse,
      restart: refuse,
      stop: async () => {},
      logTail: () => "",
    };
  }
  hookExit();
  let dir = "";
  const clusterBus = (options.args ?? []).includes("--cluster-enabled");
  // Another process may bind the chosen port (or its cluster bus port) between the check and
  // the server's own bind: the server then exits at once, and starts again on another port.
  let port = 0;
  let current: Spawned | undefined;
  for (let attempt = 1; ; attempt++) {
    port = await freePort({ clusterBus });
    // A fresh directory each attempt: a failed start may have written a cluster config.
    dir = mkdtempSync(join(tmpdir(), `authcache-${kind}-`));
    current = spawnServer(kind, port, dir, options.args ?? []);
    try {
      await waitReady({ host: HOST, port }, current.proc, `${kind}-server on port ${port}`);
      break;
    } catch (e) {
      const exited = current.proc.exitCode !== null;
      killSpawned(current);
      await waitExit(current);
      const log = serverLogTail(dir, port);
      rmSync(dir, { recursive: true, force: true });
      if (!exited || attempt >= 5) {
        throw new Error(`${(e as Error).message}${log ? `; its log ends:\n${log}` : ""}`, {
          cause: e,
        });
      }
    }
  }
  let stopped = false;
  const entry = {
    killNow: () => {
      killSpawned(current);
      rmSync(dir, { recursive: true, force: true });
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const s = current;
      killSpawned(s);
      await waitExit(s);
      current = undefined;
      rmSync(dir, { recursive: true, force: true });
      live.delete(entry);
    },
  };
  live.add(entry);
  const server: TestServer = {
    kind,
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    get pid() {
      return current?.proc.pid;
    },
    owned: true,
    kill: async () => {
      const s = current;
      killSpawned(s);
      await waitExit(s);
    },
    restart: async () => {
      if (stopped) throw new Error("test-servers: restart after stop");
      killSpawned(current);
      await waitExit(current);
      current = spawnServer(kind, port, dir, options.args ?? []);
      await waitReady({ host: HOST, port }, current.proc, `${kind}-server on port ${port}`);
    },
    stop: entry.stop,
    logTail: (lines = 20) => serverLogTail(dir, port, lines),
  };
  return server;
}

function parseClusterNodes(text: string): ClusterNodeInfo[] {
  const out: ClusterNodeInfo[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(" ");
    if (f.length < 8 || !f[0] || !f[1]) continue;
    const addr = /^(.*):(\d+)@/.exec(f[1]);
    if (!addr) continue;
    const flags = (f[2] ?? "").split(",");
    let slots = 0;
    for (const r of f.slice(8)) {
      if (r.startsWith("[")) continue; // a slot being migrated or imported
      const [a, b] = r.split("-");
      slots += b === undefined ? 1 : Number(b) - Number(a) + 1;
    }
    out.push({
      id: f[0],
      host: addr[1] || HOST,
      port: Number(addr[2]),
      role: flags.includes("master") ? "master" : "replica",
      masterId: f[3] && f[3] !== "-" ? f[3] : undefined,
      failed: flags.some((x) => x === "fail" || x === "fail?") || f[7] === "disconnected",
      slots,
    });
  }
  return out;
}

/** Who serves which slots in one node's `CLUSTER NODES` view, as one comparable string
 *  ("id ranges" per master with slots, sorted; migration annotations left out). */
function slotOwners(text: string): string {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(" ");
    if (f.length < 9 || !f[0]) continue;
    const ranges = f.slice(8).filter((r) => !r.startsWith("["));
    if (ranges.length > 0) out.push(`${f[0].slice(0, 8)} ${ranges.join(",")}`);
  }
  return out.sort().join("; ");
}

/** Reads a bulk reply's body (CLUSTER NODES, INFO). */
function bulkBody(reply: string): string {
  const m = /^\$(\d+)\r\n/.exec(reply);
  return m ? reply.slice(m[0].length, m[0].length + Number(m[1])) : reply;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts (or, with AUTHCACHE_<KIND>_CLUSTER set, reuses) a cluster of `masters` nodes with
 *  `replicas` replicas each (default 0), built as operators build one:
 *  `<kind>-cli --cluster create ... --cluster-replicas N`. */
export async function startCluster(
  kind: ServerKind,
  options: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {},
): Promise<TestCluster> {
  const envNodes =
    kind === "redis" ? process.env.AUTHCACHE_REDIS_CLUSTER : process.env.AUTHCACHE_VALKEY_CLUSTER;
  const notOwned = async () => {
    throw new Error(
      `test-servers: the ${kind} cluster was given by AUTHCACHE_${kind.toUpperCase()}_CLUSTER; the harness does not kill, fail over or reshard it`,
    );
  };
  if (envNodes) {
    const nodes = envNodes.split(",").map((s) => parseUrl(`redis://${s.trim()}`));
    const first = nodes[0];
    if (!first) throw new Error(`test-servers: AUTHCACHE_${kind.toUpperCase()}_CLUSTER is empty`);
    return {
      kind,
      nodes,
      allNodes: nodes,
      owned: false,
      topology: async () => parseClusterNodes(bulkBody(await rawCommand(first, "CLUSTER NODES"))),
      killNode: notOwned,
      restartNode: notOwned,
      pauseNode: notOwned,
      resumeNode: notOwned,
      failover: notOwned,
      waitHealthy: async () => {},
      reshard: notOwned,
      stop: async () => {},
    };
  }
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  if (!Number.isInteger(masters) || masters < 3)
    throw new RangeError(`test-servers: masters must be an integer >= 3 (got ${masters})`);
  if (!Number.isInteger(replicas) || replicas < 0)
    throw new RangeError(`test-servers: replicas must be a non-negative integer (got ${replicas})`);
  const nodeTimeout = options.nodeTimeoutMs ?? (replicas > 0 ? 1000 : 2000);
  const servers: TestServer[] = [];
  const cli = cliBinary(kind);
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      servers.push(
        await startServer(kind, {
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            `nodes-${i}-${process.pid}.conf`,
            "--cluster-node-timeout",
            String(nodeTimeout),
            // A replica may be promoted however long it was cut off (tests kill masters at will).
            "--cluster-replica-validity-factor",
            "0",
          ],
        }),
      );
    }
    execFileSync(
      cli,
      [
        "--cluster",
        "create",
        ...servers.map((s) => `${HOST}:${s.port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ],
      { stdio: "ignore", timeout: 60_000 },
    );
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
  const byPort = new Map(servers.map((s) => [s.port, s]));
  const serverOf = (node: HostPort): TestServer => {
    const s = byPort.get(node.port);
    if (!s)
      throw new Error(`test-servers: ${node.host}:${node.port} is not a node of this cluster`);
    return s;
  };
  const down = new Set<number>();
  const liveNode = (): TestServer => {
    const s = servers.find((x) => !down.has(x.port));
    if (!s) throw new Error("test-servers: every node of the cluster is down");
    return s;
  };
  const topology = async () =>
    parseClusterNodes(bulkBody(await rawCommand(liveNode(), "CLUSTER NODES")));
  /** Why the cluster is not healthy now, or undefined when it is: every slot served by a
   *  live master, every live node of one mind about who serves which slot, and every live
   *  node reporting cluster_state:ok. One CLUSTER NODES and one CLUSTER INFO per live node. */
  const unhealthy = async (): Promise<string | undefined> => {
    const live = servers.filter((s) => !down.has(s.port));
    const views = await Promise.all(
      live.map(async (s) => bulkBody(await rawCommand(s, "CLUSTER NODES"))),
    );
    const first = live[0];
    if (!first || views[0] === undefined) return "every node of the cluster is down";
    const nodes = parseClusterNodes(views[0]);
    const servedSlots = nodes
      .filter((n) => n.role === "master" && !n.failed && !down.has(n.port))
      .reduce((sum, n) => sum + n.slots, 0);
    if (servedSlots !== 16384) {
      const view = nodes
        .map(
          (n) =>
            `${n.port} ${n.role}${n.failed ? " failed" : ""}${down.has(n.port) ? " down" : ""} ${n.slots} slots`,
        )
        .join("; ");
      return `live masters serve ${servedSlots} of 16384 slots in ${first.port}'s view: ${view}`;
    }
    // A node that has not yet heard of a slot's move (a replica of a reshard's target, say)
    // would, if its master died now, be promoted without that slot, and no node would ever
    // serve it again.
    const owners = views.map(slotOwners);
    const other = owners.findIndex((o) => o !== owners[0]);
    if (other > 0)
      return `the nodes disagree about slot owners: ${first.port} sees ${owners[0]}; ${live[other]?.port} sees ${owners[other]}`;
    for (const [k, s] of live.entries()) {
      const info = bulkBody(await rawCommand(s, "CLUSTER INFO"));
      if (!info.includes("cluster_state:ok")) {
        const state = /cluster_state:\w+/.exec(info)?.[0] ?? "no cluster_state";
        const view = (views[k] ?? "").trim().split("\n").join(" | ");
        return `${s.port} says ${state}; its view: ${view}; its log ends: ${s.logTail(25).split("\n").join(" | ")}`;
      }
    }
    return undefined;
  };
  const waitHealthy = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Why the last check failed, for the timeout's message (a cluster that never heals is
      // otherwise a bare timeout).
      const reason = await unhealthy().catch((e: unknown) => (e as Error).message);
      if (reason === undefined) return;
      if (Date.now() > deadline)
        throw new Error(
          `test-servers: ${kind} cluster not healthy after ${timeoutMs} ms (last check: ${reason})`,
        );
      await sleep(50);
    }
  };
  try {
    await waitHealthy(30_000);
    if (replicas > 0) {
      // Every replica attached and synced before the caller starts killing masters.
      const deadline = Date.now() + 30_000;
      for (const s of servers) {
        for (;;) {
          const info = bulkBody(await rawCommand(s, "INFO replication"));
          const isReplica = info.includes("role:slave");
          if (!isReplica || /master_link_status:up/.test(info)) break;
          if (Date.now() > deadline)
            throw new Error(`test-servers: ${kind} replica on ${s.port} not in sync after 30 s`);
          await sleep(50);
        }
      }
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
  return {
    kind,
    nodes: servers.slice(0, masters).map((s) => ({ host: s.host, port: s.port })),
    allNodes: servers.map((s) => ({ host: s.host, port: s.port })),
    owned: true,
    topology,
    killNode: async (node) => {
      const s = serverOf(node);
      down.add(s.port);
      await s.kill();
    },
    restartNode: async (node) => {
      const s = serverOf(node);
      await s.restart();
      down.delete(s.port);
    },
    pauseNode: async (node) => {
      const s = serverOf(node);
      if (s.pid === undefined) throw new Error(`test-servers: ${node.port} is not running`);
      process.kill(s.pid, "SIGSTOP");
    },
    resumeNode: async (node) => {
      const s = serverOf(node);
      if (s.pid !== undefined) process.kill(s.pid, "SIGCONT");
    },
    failover: async (replica, mode) => {
      const s = serverOf(replica);
      const deadline = Date.now() + 30_000;
      // A graceful failover needs a replica in sync with its master: wait for the link first.
      if (mode === undefined) {
        for (;;) {
          const info = bulkBody(await rawCommand(s, "INFO replication").catch(() => ""));
          if (/master_link_status:up/.test(info)) break;
          if (Date.now() > deadline)
            throw new Error(`test-servers: ${s.port} is not an in-sync replica after 30 s`);
          await sleep(50);
        }
      }
      // A manual failover that the master does not answer in time is silently aborted: retry.
      for (let attempt = 0; ; attempt++) {
        const command = mode ? `CLUSTER FAILOVER ${mode.toUpperCase()}` : "CLUSTER FAILOVER";
        const reply = await rawCommand(s, command, 5000);
        if (!reply.startsWith("+OK"))
          throw new Error(`test-servers: ${command} on ${s.port} answered ${reply.trim()}`);
        const until = Math.min(deadline, Date.now() + 10_000);
        for (;;) {
          const me = (await topology().catch(() => [])).find((n) => n.port === s.port);
          if (me?.role === "master" && me.slots > 0) {
            await waitHealthy(60_000);
            return;
          }
          if (Date.now() > until) break;
          await sleep(25);
        }
        if (Date.now() > deadline || attempt >= 2)
          throw new Error(`test-servers: ${s.port} not a master after ${command} (3 attempts)`);
      }
    },
    waitHealthy,
    reshard: async (from, to, slots) => {
      const nodes = await topology();
      const src = nodes.find((n) => n.port === from.port);
      const dst = nodes.find((n) => n.port === to.port);
      if (src?.role !== "master") throw new Error(`test-servers: ${from.port} is not a master`);
      if (dst?.role !== "master") throw new Error(`test-servers: ${to.port} is not a master`);
      // `--cluster reshard` refuses to start while the nodes disagree about the configuration
      // (right after a failover, say): wait for `--cluster check` to pass, and retry a run that
      // failed for that reason, saying what the tool printed when it keeps failing.
      const runCli = (args: string[], timeoutMs: number) =>
        new Promise<{ code: number | null; output: string }>((resolve, reject) => {
          const p = spawn(cli, args, { stdio: ["ignore", "pipe", "pipe"] });
          let output = "";
          const keep = (d: Buffer) => {
            output = (output + d.toString("utf8")).slice(-4000);
          };
          p.stdout?.on("data", keep);
          p.stderr?.on("data", keep);
          const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
          p.on("error", reject);
          p.on("exit", (code) => {
            clearTimeout(timer);
            resolve({ code, output });
          });
        });
      const entry = `${HOST}:${liveNode().port}`;
      let last = "";
      let remaining = slots;
      for (let attempt = 0; attempt < 5 && remaining > 0; attempt++) {
        const deadline = Date.now() + 20_000;
        while ((await runCli(["--cluster", "check", entry], 20_000)).code !== 0) {
          if (Date.now() > deadline) break;
          await sleep(200);
        }
        const run = await runCli(
          [
            "--cluster",
            "reshard",
            entry,
            "--cluster-from",
            src.id,
            "--cluster-to",
            dst.id,
            "--cluster-slots",
            String(remaining),
            "--cluster-yes",
            "--cluster-pipeline",
            "100",
          ],
          120_000,
        );
        if (run.code === 0) break;
        last = run.output.trim().split("\n").slice(-3).join(" | ");
        // A reshard that stopped half-way leaves slots open: let the tool close them.
        await runCli(["--cluster", "fix", entry, "--cluster-yes"], 60_000);
        const now = (await topology()).find((n) => n.id === src.id)?.slots ?? src.slots;
        remaining = slots - (src.slots - now);
        if (attempt === 4 && remaining > 0)
          throw new Error(`test-servers: ${kind}-cli --cluster reshard failed 5 times: ${last}`);
        await sleep(500);
      }
      await waitHealthy(60_000);
    },
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
