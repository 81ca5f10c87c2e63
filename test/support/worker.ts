/**
 * A cache instance in its own process: `bun test/support/worker.ts`, driven over stdin/stdout
 * in JSON lines (see worker-protocol.ts). It exits when stdin closes, so a dying test never
 * leaves it behind.
 */
import { createInterface } from "node:readline";
import { createRedisCache, type RedisCacheHandle } from "./cache-factory.ts";
import { type LoadAnswer, MARK, type WorkerReply, type WorkerRequest } from "./worker-protocol.ts";

let handle: RedisCacheHandle | undefined;
let nextLid = 1;
const pendingLoads = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

function send(message: unknown): void {
  process.stdout.write(`${MARK}${JSON.stringify(message)}\n`);
}

function loaderFor(spec: unknown): () => Promise<unknown> {
  return () =>
    new Promise((resolve, reject) => {
      const lid = nextLid++;
      pendingLoads.set(lid, { resolve, reject });
      send({ lid, spec });
    });
}

/** `{ $loader: spec }` arguments become functions that ask the test process. */
function reviveArgs(args: readonly unknown[]): unknown[] {
  return args.map((a) =>
    a !== null && typeof a === "object" && "$loader" in a
      ? loaderFor((a as { $loader: unknown }).$loader)
      : a,
  );
}

async function handle1(req: WorkerRequest): Promise<unknown> {
  switch (req.op) {
    case "init":
      handle = await createRedisCache(req.config);
      return process.pid;
    case "call": {
      if (!handle) throw new Error("worker: call before init");
      const cache = handle.cache as unknown as Record<string, (...a: unknown[]) => unknown>;
      const fn = cache[req.method];
      if (typeof fn !== "function") throw new Error(`worker: no method ${req.method}`);
      return await fn.apply(handle.cache, reviveArgs(req.args));
    }
    case "stats":
      if (!handle) throw new Error("worker: stats before init");
      return { cache: handle.cache.stats(), busDropped: handle.bus.dropped, log: handle.log };
    case "memory":
      return process.memoryUsage();
    case "close":
      await handle?.close();
      handle = undefined;
      // The process exits when the test closes stdin, after this reply went out.
      return true;
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  const msg = JSON.parse(line) as WorkerRequest | LoadAnswer;
  if ("lid" in msg) {
    const p = pendingLoads.get(msg.lid);
    pendingLoads.delete(msg.lid);
    if (msg.error !== undefined) p?.reject(new Error(msg.error));
    else p?.resolve(msg.value);
    return;
  }
  const startedAt = Date.now();
  handle1(msg).then(
    (value) => {
      const reply: WorkerReply = {
        id: msg.id,
        ok: true,
        defined: value !== undefined,
        value,
        startedAt,
        endedAt: Date.now(),
      };
      send(reply);
    },
    (error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      const reply: WorkerReply = {
        id: msg.id,
        ok: false,
        error: { name: e.name, message: e.message },
        startedAt,
        endedAt: Date.now(),
      };
      send(reply);
    },
  );
});
lines.on("close", () => {
  void (async () => {
    await handle?.close();
    process.exit(0);
  })();
});
