// A consumer of the packed packages, as a user writes it: set, get, invalidate, close, on a real
// Redis. Two instances share the server so the invalidation has to travel over the Stream bus.
// The package-checks script type-checks this file with strict tsc (NodeNext and Bundler, lib
// checks on), then runs what tsc compiled with plain node and with Deno, and runs this source
// with Bun (which takes the packages' `bun` condition: their TypeScript sources).
// It must exit by itself: a handle left open by close() shows up as a timeout there.
import process from "node:process";
import { createRedisBus, createRedisStore } from "@authcache/adapter-redis";
import { type AuthCache, createAuthCache, InvalidationError, silentLogger } from "@authcache/core";
import { loaded } from "./all-packages.js";

interface Account {
  readonly name: string;
  readonly plan: "free" | "pro";
}

const runtime =
  "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : `node ${process.versions.node}`;
const url: string = process.env.AUTHCACHE_REDIS_URL ?? "";
if (url === "") throw new Error("AUTHCACHE_REDIS_URL is not set");
const prefix = `consumer-${process.pid}-${Date.now()}:`;

function instance() {
  const store = createRedisStore({ url });
  const bus = createRedisBus({ url });
  const cache: AuthCache<Account> = createAuthCache<Account>({
    store,
    bus,
    prefix,
    maxStaleMs: 1_000,
    logger: silentLogger,
  });
  return {
    cache,
    async close(): Promise<void> {
      await cache.close();
      await bus.close();
      await store.close();
    },
  };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`consumer app (${runtime}): ${what}`);
}

const a = instance();
const b = instance();
try {
  const email = "ada@example.test";
  await a.cache.setUser(email, { name: "Ada", plan: "pro" });
  check((await a.cache.getUser(email))?.plan === "pro", "A does not read back what it set");
  // B has nothing in L1: it reads what A wrote through Redis.
  check((await b.cache.getUser(email))?.name === "Ada", "B does not see A's entry in Redis");

  await a.cache.invalidateUser(email);
  check((await a.cache.getUser(email)) === undefined, "A still serves an invalidated user");
  // B drops its L1 copy when the bus delivers the invalidation (bounded by maxStaleMs).
  const deadline = Date.now() + 10_000;
  while ((await b.cache.getUser(email)) !== undefined) {
    check(Date.now() < deadline, "B still serves the user 10 s after A invalidated it");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  check(new InvalidationError("invalidateUser", []).name === "InvalidationError", "errors");
} finally {
  await a.close();
  await b.close();
}
console.log(
  `consumer app ok on ${runtime} (${loaded.length} entry points loaded: ${loaded.join(", ")})`,
);
