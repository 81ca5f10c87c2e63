// One AuthCache in its own process, driven over stdin/stdout (one JSON object per line):
//   in:  { "id": 1, "method": "getAuthContext", "args": ["a@x.com", "j1"] }
//   out: { "id": 1, "result": ... }  or  { "id": 1, "undefined": true }  or  { "id": 1, "error": "..." }
// `stats` returns cache.stats(); `close` closes everything and exits.
// Usage: bun fleet-worker.ts <redis url> <stream> <prefix> <maxStaleMs>
import { createInterface } from "node:readline";
import { createAuthCache, silentLogger } from "@authcache/core";
import { createRedisBus, createRedisStore } from "../src/index.ts";

const [url, stream, prefix, maxStale] = process.argv.slice(2);
if (!url || !stream || !prefix || !maxStale)
  throw new Error("usage: fleet-worker <url> <stream> <prefix> <maxStaleMs>");

const store = createRedisStore({ url });
const bus = createRedisBus({ url, stream, confirmIntervalMs: 100 });
const cache = createAuthCache({
  store,
  bus,
  prefix,
  maxStaleMs: Number(maxStale),
  logger: silentLogger,
});
const send = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

for (let i = 0; i < 500 && cache.stats().busState !== "up"; i++) await Bun.sleep(10);
send({ ready: true, busState: cache.stats().busState });

const methods = cache as unknown as Record<string, (...args: unknown[]) => unknown>;
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { id, method, args } = JSON.parse(line) as { id: number; method: string; args: unknown[] };
  try {
    if (method === "close") {
      await cache.close();
      await bus.close();
      await store.close();
      send({ id, result: true });
      process.exit(0);
    }
    const fn = methods[method];
    if (typeof fn !== "function") throw new Error(`no method ${method}`);
    const result = await fn.apply(cache, args);
    send(result === undefined ? { id, undefined: true } : { id, result });
  } catch (error) {
    send({ id, error: error instanceof Error ? error.message : String(error) });
  }
}
