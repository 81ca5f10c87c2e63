/**
 * The test's side of a worker process: spawn it, call cache methods on it, answer its loads.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { RedisCacheConfig } from "./cache-factory.ts";
import { type LoadRequest, MARK, type WorkerReply, type WorkerRequest } from "./worker-protocol.ts";

export interface CallResult {
  readonly ok: boolean;
  readonly value: unknown;
  readonly error?: { readonly name: string; readonly message: string };
  /** Epoch ms measured inside the worker around the call. */
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface WorkerHandle {
  readonly pid: number;
  /** Calls `cache[method](...args)` in the worker; `{ $loader: spec }` args become loaders. */
  call(method: string, ...args: unknown[]): Promise<CallResult>;
  stats(): Promise<unknown>;
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Closes the cache and waits for the process to exit (kills it if it does not). */
  close(): Promise<void>;
  /** Kills the process abruptly (SIGKILL), whatever it is doing, and waits for it to exit. */
  kill(): Promise<void>;
  readonly exited: boolean;
}

type Request = WorkerRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, "id">
    : never
  : never;

/** Spawns `bun test/support/worker.ts` and initialises a Redis-backed cache in it. `onLoad`
 *  answers the worker's loaders (its return value is sent back; a throw becomes a load error). */
export async function spawnWorker(
  config: RedisCacheConfig,
  onLoad: (spec: unknown) => unknown | Promise<unknown>,
): Promise<WorkerHandle> {
  const child: ChildProcess = spawn(process.execPath, [join(import.meta.dir, "worker.ts")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let nextId = 1;
  let exited = false;
  const pending = new Map<number, (reply: WorkerReply) => void>();
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      for (const [, settle] of pending) {
        settle({
          id: 0,
          ok: false,
          error: { name: "WorkerExited", message: "worker exited" },
          startedAt: 0,
          endedAt: 0,
        });
      }
      pending.clear();
      resolve();
    });
  });
  const stdin = child.stdin;
  const stdout = child.stdout;
  if (!stdin || !stdout) throw new Error("worker: no stdio");
  stdin.on("error", () => {});
  const write = (msg: unknown): void => {
    if (!exited) stdin.write(`${JSON.stringify(msg)}\n`);
  };
  createInterface({ input: stdout }).on("line", (line) => {
    // Protocol lines carry a marker; anything else is a library writing to stdout (glide's
    // native logger does), passed through to stderr.
    if (!line.startsWith(MARK)) {
      if (line.trim() !== "") process.stderr.write(`[worker] ${line}\n`);
      return;
    }
    const msg = JSON.parse(line.slice(MARK.length)) as WorkerReply | LoadRequest;
    if ("lid" in msg) {
      Promise.resolve()
        .then(() => onLoad(msg.spec))
        .then(
          (value) => write({ lid: msg.lid, value }),
          (e: unknown) => write({ lid: msg.lid, error: String(e) }),
        );
      return;
    }
    const settle = pending.get(msg.id);
    pending.delete(msg.id);
    settle?.(msg);
  });
  const request = (req: Request): Promise<WorkerReply> =>
    new Promise((resolve) => {
      if (exited) {
        resolve({
          id: 0,
          ok: false,
          error: { name: "WorkerExited", message: "worker exited" },
          startedAt: 0,
          endedAt: 0,
        });
        return;
      }
      const id = nextId++;
      pending.set(id, resolve);
      write({ ...req, id });
    });
  const unwrap = async (req: Request): Promise<unknown> => {
    const r = await request(req);
    if (!r.ok) throw new Error(`worker ${req.op}: ${r.error.name}: ${r.error.message}`);
    return r.value;
  };

  await unwrap({ op: "init", config });
  return {
    pid: child.pid ?? -1,
    get exited() {
      return exited;
    },
    async call(method, ...args) {
      const r = await request({ op: "call", method, args });
      return r.ok
        ? {
            ok: true,
            value: r.defined ? r.value : undefined,
            startedAt: r.startedAt,
            endedAt: r.endedAt,
          }
        : {
            ok: false,
            value: undefined,
            error: r.error,
            startedAt: r.startedAt,
            endedAt: r.endedAt,
          };
    },
    stats: () => unwrap({ op: "stats" }),
    memory: async () => (await unwrap({ op: "memory" })) as NodeJS.MemoryUsage,
    async kill() {
      if (exited) return;
      child.kill("SIGKILL");
      await exitPromise;
    },
    async close() {
      if (exited) return;
      await request({ op: "close" });
      stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
