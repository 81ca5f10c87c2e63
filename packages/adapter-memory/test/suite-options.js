// Options of the conformance suites for the memory adapter, shared by the three runners
// (bun test imports src; node --test and deno test import the built dist). Plain JS so Node 20
// can load it without a TypeScript step; types in suite-options.d.ts.

const SHARED_REASON =
  "each createMemoryStore() is its own backend: processes share a store by sharing the object";

/** @param {(o?: object) => import("@authcache/core").Store} createMemoryStore */
export function memoryStoreSuite(createMemoryStore) {
  return {
    name: "memory",
    createStore: async () => createMemoryStore(),
    timing: { resolutionMs: 1 },
    skip: {
      "basic: a second store on the same backend sees the same data": `${SHARED_REASON}; sharing one object is covered by test/store.test.ts "two caches share one store by sharing the object"`,
    },
  };
}

/**
 * The bus is given a store of its own, so it offers the ordered publish (publishAfter) and the
 * suite's "ordered publish" topic exercises it; every other topic runs on that bus too.
 * @param {(o?: object) => import("../src/memory-bus.ts").MemoryBus} createMemoryBus
 * @param {() => import("../src/memory-store.ts").MemoryStore} createMemoryStore
 */
export function memoryBusSuite(createMemoryBus, createMemoryStore) {
  const confirmIntervalMs = 25;
  return {
    name: "memory",
    timing: { confirmIntervalMs },
    createLog: async () => {
      const root = createMemoryBus({ confirmIntervalMs, store: createMemoryStore() });
      /** @param {unknown} bus */
      const asMemory = (bus) => /** @type {import("../src/memory-bus.ts").MemoryBus} */ (bus);
      let first = true;
      return {
        // The first bus is the root object; later ones are views on its log, as processes are.
        createBus: async () => {
          if (!first) return root.connect();
          first = false;
          return root;
        },
        pause: (bus) => asMemory(bus).setDeaf(true),
        resume: (bus) => asMemory(bus).setDeaf(false),
        interrupt: (bus) => asMemory(bus).interrupt(),
        trim: (keep) => root.trim(keep),
        appendRaw: (raw) => root.appendRaw(raw),
        remove: (fromEnd) => root.remove(fromEnd),
        recreate: () => root.recreate(),
        delay: (bus, ms) => asMemory(bus).setLatency(ms),
        close: () => root.close(),
      };
    },
  };
}
