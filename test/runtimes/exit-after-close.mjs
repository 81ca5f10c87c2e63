// Run by core-suite.js in a process of its own: two caches on one memory store and bus do some
// work and are closed, with nothing else to stop. The process must then exit by itself (no
// `process.exit`): a timer or a subscription left behind by `close()` would keep it alive.
import { createMemoryBus, createMemoryStore } from "@authcache/adapter-memory";
import { createAuthCache } from "@authcache/core";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const store = createMemoryStore();
const bus = createMemoryBus({ confirmIntervalMs: 20 });
const busB = bus.connect();
const a = createAuthCache({ store, bus, maxStaleMs: 200, logger: quiet });
const b = createAuthCache({ store, bus: busB, maxStaleMs: 200, logger: quiet });

await a.resolveUser("ada@example.com", async () => ({ id: "u-ada" }));
await b.getUser("ada@example.com");
await a.invalidateUser("ada@example.com");
await a.invalidateRevocation("jti-1", Date.now() + 60_000);
for (let i = 0; i < 200 && b.stats().busMessages < 2; i++) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
const applied = b.stats().busMessages;
await a.close();
await b.close();
await busB.close();
await bus.close();
await store.close();
console.log(`closed after ${applied} applied entries`);
