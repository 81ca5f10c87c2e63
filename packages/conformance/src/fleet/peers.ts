import { type ChildProcess, spawn } from "node:child_process";
import { stderr } from "node:process";
import { createInterface } from "node:readline";
import type { OpenInstance } from "./instance.ts";
import type { FleetReply } from "./serve.ts";

/** What the fleet tests need of an instance, in this process or another. */
export interface Peer {
  readonly label: string;
  /** Calls an AuthCache method by name; rejects with the method's error. */
  call(method: string, ...args: unknown[]): Promise<unknown>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** An instance in this process. */
export function localPeer(label: string, { cache, release }: OpenInstance): Peer {
  const methods = cache as unknown as Record<string, (...args: unknown[]) => unknown>;
  return {
    label,
    call: async (method, ...args) => {
      const fn = methods[method];
      if (typeof fn !== "function") throw new Error(`${label}: no method ${method}`);
      return fn.apply(cache, args);
    },
    stats: async () => ({ ...cache.stats() }),
    close: async () => {
      await cache.close();
      await release();
    },
  };
}

/**
 * An instance in a child process started with `argv` (which runs `serveCacheOverStdio`). Resolves
 * once the worker says it is ready with its bus up. If the worker exits, every pending call and
 * a pending start reject at once, so a crash fails the test instead of hanging it.
 */
export async function processPeer(label: string, argv: readonly string[]): Promise<Peer> {
  const [command, ...args] = argv;
  if (!command) throw new Error(`${label}: the worker command is empty`);
  const child: ChildProcess = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  const pending = new Map<number, (reply: FleetReply | undefined) => void>();
  let onReady: (reply: FleetReply | undefined) => void = () => {};
  const started = new Promise<FleetReply | undefined>((resolve) => {
    onReady = resolve;
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      onReady(undefined);
      for (const settle of pending.values()) settle(undefined);
      pending.clear();
      resolve();
    });
  });
  child.once("error", (err) => {
    stderr.write(`${label}: ${err.message}\n`);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const reply = JSON.parse(line) as FleetReply;
    if ("ready" in reply) return onReady(reply);
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  });
  let next = 0;
  const call = (method: string, ...callArgs: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null)
        return reject(new Error(`${label}: the worker has exited`));
      const id = ++next;
      pending.set(id, (reply) => {
        if (reply === undefined) reject(new Error(`${label}: the worker exited during ${method}`));
        else if ("error" in reply) reject(new Error(`${label}: ${reply.error}`));
        else resolve("undefined" in reply ? undefined : (reply as { result: unknown }).result);
      });
      child.stdin?.write(`${JSON.stringify({ id, method, args: callArgs })}\n`);
    });
  const first = await started;
  if (first === undefined || !("ready" in first)) {
    throw new Error(`${label}: the worker exited before it was ready (${argv.join(" ")})`);
  }
  if (first.busState !== "up") {
    child.kill("SIGKILL");
    throw new Error(`${label}: the worker's bus is "${first.busState}", expected "up"`);
  }
  return {
    label,
    call,
    stats: async () => (await call("stats")) as Record<string, unknown>,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await call("close").catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 3000);
      });
      await Promise.race([exited, grace]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
