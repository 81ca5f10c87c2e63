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
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

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
}

export interface TestCluster {
  readonly kind: ServerKind;
  /** The masters (3 by default), each serving a third of the slots. */
  readonly nodes: HostPort[];
  readonly owned: boolean;
  stop(): Promise<void>;
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

/** A free TCP port on loopback (bound and released; the race window is tiny for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
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
  const proc = spawn(serverBinary(kind), args, { stdio: "ignore", detached: false });
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
    };
  }
  hookExit();
  const dir = mkdtempSync(join(tmpdir(), `authcache-${kind}-`));
  const port = await freePort();
  let current: Spawned | undefined = spawnServer(kind, port, dir, options.args ?? []);
  let stopped = false;
  await waitReady({ host: HOST, port }, current.proc, `${kind}-server on port ${port}`);
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
  };
  return server;
}

/** Starts (or, with AUTHCACHE_<KIND>_CLUSTER set, reuses) a cluster of `masters` nodes, no replicas. */
export async function startCluster(
  kind: ServerKind,
  options: { masters?: number } = {},
): Promise<TestCluster> {
  const envNodes =
    kind === "redis" ? process.env.AUTHCACHE_REDIS_CLUSTER : process.env.AUTHCACHE_VALKEY_CLUSTER;
  if (envNodes) {
    const nodes = envNodes.split(",").map((s) => parseUrl(`redis://${s.trim()}`));
    return { kind, nodes, owned: false, stop: async () => {} };
  }
  const masters = options.masters ?? 3;
  const servers: TestServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startServer(kind, {
          args: [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            `nodes-${i}-${process.pid}.conf`,
            "--cluster-node-timeout",
            "2000",
          ],
        }),
      );
    }
    const cli = cliBinary(kind);
    execFileSync(
      cli,
      [
        "--cluster",
        "create",
        ...servers.map((s) => `${HOST}:${s.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { stdio: "ignore", timeout: 30_000 },
    );
    const deadline = Date.now() + 20_000;
    for (const s of servers) {
      for (;;) {
        const info = await rawCommand(s, "CLUSTER INFO").catch(() => "");
        if (info.includes("cluster_state:ok")) break;
        if (Date.now() > deadline)
          throw new Error(`test-servers: ${kind} cluster not ok after 20 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
  return {
    kind,
    nodes: servers.map((s) => ({ host: s.host, port: s.port })),
    owned: true,
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}
