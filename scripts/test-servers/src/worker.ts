/**
 * The one stdio worker protocol of the tests: a parent drives a service in a child process over
 * the child's stdin and stdout, one JSON object per line.
 *
 *   child → parent  {"ready": <payload>}                 once, when the service is ready
 *                   {"id": 1, "ok": true, "defined": true, "value": ..., "startedAt", "endedAt"}
 *                   {"id": 1, "ok": false, "error": {"name", "message"}, "startedAt", "endedAt"}
 *                   {"ask": 7, "payload": ...}           the child asks the parent (a loader)
 *   parent → child  {"id": 1, "method": "getUser", "args": [...]}
 *                   {"answer": 7, "value": ...} | {"answer": 7, "error": "..."}
 *
 * Every line the child writes starts with `WORKER_MARK`, so output of a library that writes to
 * stdout (glide's native logger does) is told apart and passed to stderr. `undefined` results
 * travel as `"defined": false` (JSON has no undefined). The child closes its service and exits
 * when its stdin ends, so a parent that dies never leaves it behind; the parent's `close()` ends
 * stdin and waits for the exit (killing the child after a grace period).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { exit, argv as processArgv, stderr, stdin, stdout } from "node:process";
import { createInterface } from "node:readline";

/** Starts every protocol line the child writes. */
export const WORKER_MARK = "@@authcache-worker@@";

/** A named error as it crosses the process boundary. */
export interface WorkerError {
  readonly name: string;
  readonly message: string;
}

type FromWorker =
  | { readonly ready: unknown }
  | { readonly ask: number; readonly payload: unknown }
  | {
      readonly id: number;
      readonly ok: true;
      readonly defined: boolean;
      readonly value?: unknown;
      readonly startedAt: number;
      readonly endedAt: number;
    }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: WorkerError;
      readonly startedAt: number;
      readonly endedAt: number;
    };

type ToWorker =
  | { readonly id: number; readonly method: string; readonly args: readonly unknown[] }
  | { readonly answer: number; readonly value?: unknown; readonly error?: string };

// ------------------------------------------------------------------------ the child's side

/** What a worker serves. */
export interface WorkerService {
  /** Sent to the parent in the ready line (plain JSON). */
  readonly ready?: unknown;
  /** Serves one call; a throw (or rejection) is sent back as the call's error. */
  call(method: string, args: readonly unknown[]): unknown;
  /** Runs when stdin ends, before the process exits. */
  close?(): unknown;
}

/** Calls `target[method](...args)`, or throws "no method <method>". */
export function callMethod(target: object, method: string, args: readonly unknown[]): unknown {
  const fn = (target as Record<string, unknown>)[method];
  if (typeof fn !== "function") throw new Error(`no method ${method}`);
  return (fn as (...a: unknown[]) => unknown).apply(target, [...args]);
}

/**
 * Serves a service over stdin/stdout (the child's side). `build` gets `ask`, which sends a
 * payload to the parent's `onAsk` and resolves with its answer (or rejects with its error).
 * Calls are served concurrently, each answered when it settles. When stdin ends, the service is
 * closed and the process exits (0, or 1 if `close` threw): a client library may otherwise keep
 * the event loop alive.
 */
export async function serveWorker(
  build: (ask: (payload: unknown) => Promise<unknown>) => WorkerService | Promise<WorkerService>,
): Promise<void> {
  const send = (message: FromWorker): void => {
    stdout.write(`${WORKER_MARK}${JSON.stringify(message)}\n`);
  };
  let nextAsk = 1;
  const asks = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const ask = (payload: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const n = nextAsk++;
      asks.set(n, { resolve, reject });
      send({ ask: n, payload });
    });

  const lines = createInterface({ input: stdin });
  // Lines that arrive while the service is built wait for it.
  const early: string[] = [];
  let onLine: (line: string) => void = (line) => early.push(line);
  let ended = false;
  lines.on("line", (line) => onLine(line));
  const stdinEnded = new Promise<void>((resolve) =>
    lines.on("close", () => {
      ended = true;
      resolve();
    }),
  );

  const service = await build(ask);
  const serve = (line: string): void => {
    if (line.trim() === "") return;
    const message = JSON.parse(line) as ToWorker;
    if ("answer" in message) {
      const pending = asks.get(message.answer);
      asks.delete(message.answer);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve(message.value);
      return;
    }
    const { id, method, args } = message;
    const startedAt = Date.now();
    Promise.resolve()
      .then(() => service.call(method, args))
      .then(
        (value) =>
          send({
            id,
            ok: true,
            defined: value !== undefined,
            value,
            startedAt,
            endedAt: Date.now(),
          }),
        (e: unknown) => {
          const err = e instanceof Error ? e : new Error(String(e));
          const error = { name: err.name, message: err.message };
          send({ id, ok: false, error, startedAt, endedAt: Date.now() });
        },
      );
  };
  send({ ready: service.ready ?? null });
  onLine = serve;
  for (const line of early.splice(0)) serve(line);
  if (!ended) await stdinEnded;
  let code = 0;
  try {
    await service.close?.();
  } catch (e) {
    stderr.write(`worker close failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    code = 1;
  }
  exit(code);
}

/** The JSON argument the parent appended to the child's argv (`startWorker`'s `argv`). */
export function workerArgument<T>(args: readonly string[] = processArgv): T {
  const raw = args.at(-1) ?? "";
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new Error(`worker: expected a JSON argument last, got ${raw}`);
  }
}

// ----------------------------------------------------------------------- the parent's side

/** One call's outcome, with the child's clock around it (epoch ms). */
export interface CallResult {
  readonly ok: boolean;
  readonly value: unknown;
  readonly error?: WorkerError;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface WorkerProcess {
  readonly label: string;
  readonly pid: number;
  /** The child's ready payload. */
  readonly ready: unknown;
  /** True once the child has exited. */
  readonly exited: boolean;
  /** The child's exit code, or the signal that ended it; null while it runs. */
  readonly exitCode: number | string | null;
  /** Calls a method; never rejects: a failure (or the child's exit) is `ok: false`. */
  call(method: string, ...args: unknown[]): Promise<CallResult>;
  /** Calls a method; rejects with "<label>: <message>" when it fails or the child exits. */
  request(method: string, ...args: unknown[]): Promise<unknown>;
  /** Ends the child's stdin (it closes its service and exits) and waits for the exit; kills it
   *  (SIGKILL) after `graceMs`. */
  close(): Promise<void>;
  /** Kills the child abruptly (SIGKILL), whatever it is doing, and waits for the exit. */
  kill(): Promise<void>;
}

export interface StartWorkerOptions {
  /** Names the worker in errors (default: the script's argument). */
  readonly label?: string;
  /** Answers the child's `ask`: the return value is sent back, a throw becomes its error. */
  onAsk?(payload: unknown): unknown;
  /** Environment of the child (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** How long `close()` waits before SIGKILL (default 3000 ms). */
  readonly graceMs?: number;
  /** How long the start waits for the ready line before it kills the child and rejects
   *  (default 60 000 ms). */
  readonly readyTimeoutMs?: number;
}

/**
 * Starts `argv` (executable first; the child runs `serveWorker`) and resolves with its handle
 * once it said ready. If the child exits first (or is not ready within `readyTimeoutMs`), the
 * start rejects; if it exits later, every pending call settles at once, so a crash fails a test
 * instead of hanging it.
 */
export async function startWorker(
  argv: readonly string[],
  options: StartWorkerOptions = {},
): Promise<WorkerProcess> {
  const [command, ...args] = argv;
  if (!command) throw new Error("startWorker: the command is empty");
  const label = options.label ?? args[0] ?? command;
  const child: ChildProcess = spawn(command, args, {
    stdio: ["pipe", "pipe", "inherit"],
    ...(options.env ? { env: options.env } : {}),
  });
  let nextId = 1;
  let exited = false;
  let exitCode: number | string | null = null;
  const pending = new Map<number, (message: FromWorker | undefined) => void>();
  let onReady: (ready: { value: unknown } | undefined) => void = () => {};
  const started = new Promise<{ value: unknown } | undefined>((resolve) => {
    onReady = resolve;
  });
  const whenExited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      exitCode = code ?? signal;
      onReady(undefined);
      for (const settle of pending.values()) settle(undefined);
      pending.clear();
      resolve();
    });
  });
  child.once("error", (err) => stderr.write(`${label}: ${err.message}\n`));
  const input = child.stdin;
  const output = child.stdout;
  if (!input || !output) throw new Error(`${label}: no stdio`);
  input.on("error", () => {});
  const write = (message: ToWorker): void => {
    if (!exited && input.writable) input.write(`${JSON.stringify(message)}\n`);
  };

  createInterface({ input: output }).on("line", (line) => {
    if (!line.startsWith(WORKER_MARK)) {
      if (line.trim() !== "") stderr.write(`[${label}] ${line}\n`);
      return;
    }
    const message = JSON.parse(line.slice(WORKER_MARK.length)) as FromWorker;
    if ("ready" in message) return onReady({ value: message.ready });
    if ("ask" in message) {
      const n = message.ask;
      Promise.resolve()
        .then(() => {
          if (!options.onAsk) throw new Error("the parent answers no asks");
          return options.onAsk(message.payload);
        })
        .then(
          (value) => write({ answer: n, value }),
          (e: unknown) => write({ answer: n, error: e instanceof Error ? e.message : String(e) }),
        );
      return;
    }
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });

  const gone = (method: string): CallResult => ({
    ok: false,
    value: undefined,
    error: { name: "WorkerExited", message: `the worker exited (${exitCode}) during ${method}` },
    startedAt: 0,
    endedAt: 0,
  });
  const call = (method: string, ...callArgs: unknown[]): Promise<CallResult> =>
    new Promise((resolve) => {
      if (exited) return resolve(gone(method));
      const id = nextId++;
      pending.set(id, (message) => {
        if (message === undefined || !("id" in message)) return resolve(gone(method));
        resolve(
          message.ok
            ? {
                ok: true,
                value: message.defined ? message.value : undefined,
                startedAt: message.startedAt,
                endedAt: message.endedAt,
              }
            : {
                ok: false,
                value: undefined,
                error: message.error,
                startedAt: message.startedAt,
                endedAt: message.endedAt,
              },
        );
      });
      write({ id, method, args: callArgs });
    });

  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  let late = false;
  const readyTimer = setTimeout(() => {
    late = true;
    child.kill("SIGKILL");
  }, readyTimeoutMs);
  const ready = await started;
  clearTimeout(readyTimer);
  if (ready === undefined) {
    throw new Error(
      late
        ? `${label}: the worker was not ready within ${readyTimeoutMs} ms (killed)`
        : `${label}: the worker exited (${exitCode}) before it was ready`,
    );
  }
  return {
    label,
    pid: child.pid ?? -1,
    ready: ready.value,
    get exited() {
      return exited;
    },
    get exitCode() {
      return exitCode;
    },
    call,
    async request(method, ...callArgs) {
      const r = await call(method, ...callArgs);
      if (!r.ok) throw new Error(`${label}: ${r.error?.message ?? "failed"}`);
      return r.value;
    },
    async close() {
      if (exited) return;
      input.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), options.graceMs ?? 3000);
      await whenExited;
      clearTimeout(timer);
    },
    async kill() {
      if (exited) return;
      child.kill("SIGKILL");
      await whenExited;
    },
  };
}
