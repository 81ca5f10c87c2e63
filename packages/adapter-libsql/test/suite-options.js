// Conformance-suite options for the libSQL adapter and the fixtures they use, shared by the
// three runners (bun test imports src; node --test and deno test import the built dist). Plain
// JS so Node 20 loads it without a TypeScript step; types in suite-options.d.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";

/** Bus poll interval in the suites: every poll that reaches the end confirms. */
export const POLL_MS = 50;

/** A temporary directory for `file:` databases, removed by `remove()`. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "authcache-libsql-"));
  return {
    dir,
    /** @param {string} name */
    url: (name) => `file:${join(dir, name)}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Fault injection in front of a real client: calls fail for a while (a cut connection) or wait
 * until resumed (a stalled follower).
 * @param {import("@libsql/client").Client} real
 */
export function faulty(real) {
  let failUntil = 0;
  let delayMs = 0;
  const travel = () => (delayMs > 0 ? new Promise((r) => setTimeout(r, delayMs)) : undefined);
  /** @type {{ promise: Promise<void>, open: () => void } | undefined} */
  let gate;
  /** @param {"execute" | "batch"} name */
  const guarded =
    (name) =>
    /** @param {unknown[]} args */
    async (...args) => {
      if (Date.now() < failUntil) throw new Error("test: connection interrupted");
      if (gate !== undefined) await gate.promise;
      if (Date.now() < failUntil) throw new Error("test: connection interrupted");
      await travel();
      const result = await /** @type {(...a: unknown[]) => Promise<unknown>} */ (real[name]).apply(
        real,
        args,
      );
      await travel();
      return result;
    };
  const execute = guarded("execute");
  const batch = guarded("batch");
  const client = new Proxy(real, {
    get(target, prop) {
      if (prop === "execute") return execute;
      if (prop === "batch") return batch;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    client,
    /** @param {number} ms */
    failFor(ms) {
      failUntil = Date.now() + ms;
    },
    pause() {
      if (gate !== undefined) return;
      let open = () => {};
      const promise = new Promise((resolve) => {
        open = () => resolve(undefined);
      });
      gate = { promise, open };
    },
    resume() {
      const g = gate;
      gate = undefined;
      g?.open();
    },
    /** Every statement waits `ms` before it is sent and again before its result is returned.
     * @param {number} ms */
    delay(ms) {
      delayMs = Math.max(0, ms);
    },
  };
}

/**
 * Where clients come from: `:memory:` is one shared client (each client is its own in-memory
 * database); a `file:` URL opens a client per call (separate connections, as processes have).
 * @param {string} url
 */
export function opener(url) {
  if (url === ":memory:") {
    const shared = createClient({ url });
    return { open: () => ({ client: shared, close: () => {} }), close: () => shared.close() };
  }
  return {
    open: () => {
      const client = createClient({ url, timeout: 5000 });
      return { client, close: () => client.close() };
    },
    close: () => {},
  };
}

/**
 * A fresh log (its own table prefix) for one bus test, with the suite's hooks.
 * @param {ReturnType<typeof opener>["open"]} open
 * @param {typeof import("../src/index.ts").createLibsqlBus} createLibsqlBus
 */
export function libsqlTestLog(open, createLibsqlBus) {
  const tablePrefix = `log_${crypto.randomUUID().replaceAll("-", "")}_`;
  /** @type {Map<unknown, ReturnType<typeof faulty>>} */
  const controls = new Map();
  const clients = [open()];
  const admin = /** @type {{ client: import("@libsql/client").Client }} */ (clients[0]);
  /** @param {unknown} bus */
  const control = (bus) => {
    const c = controls.get(bus);
    if (c === undefined) throw new Error("test: unknown bus");
    return c;
  };
  return {
    async createBus() {
      const opened = open();
      clients.push(opened);
      const f = faulty(opened.client);
      const bus = createLibsqlBus({ client: f.client, tablePrefix, pollIntervalMs: POLL_MS });
      controls.set(bus, f);
      return bus;
    },
    /** @param {unknown} bus */
    pause: (bus) => control(bus).pause(),
    /** @param {unknown} bus */
    resume: (bus) => control(bus).resume(),
    /** @param {unknown} bus */
    interrupt: (bus) => control(bus).failFor(POLL_MS * 3),
    /** @param {number} keep */
    async trim(keep) {
      await admin.client.execute({
        sql: `DELETE FROM ${tablePrefix}log WHERE id > 0 AND id <= (SELECT max(id) FROM ${tablePrefix}log) - ?1`,
        args: [keep],
      });
    },
    /** @param {number} fromEnd */
    async remove(fromEnd) {
      const rs = await admin.client.execute({
        sql: `DELETE FROM ${tablePrefix}log WHERE id = (SELECT id FROM ${tablePrefix}log WHERE id > 0 ORDER BY id DESC LIMIT 1 OFFSET ?1)`,
        args: [fromEnd],
      });
      if (rs.rowsAffected !== 1) throw new Error("remove: no such entry");
    },
    // The table is dropped and created again, as a migration or a restored database would.
    async recreate() {
      await admin.client.execute(`DROP TABLE ${tablePrefix}log`);
      const creator = createLibsqlBus({ client: admin.client, tablePrefix });
      await creator.trim();
      await creator.close();
    },
    /** @param {unknown} bus @param {number} ms */
    delay: (bus, ms) => control(bus).delay(ms),
    /** @param {string} raw */
    async appendRaw(raw) {
      await admin.client.execute({
        sql: `INSERT INTO ${tablePrefix}log (message, created_at) VALUES (?1, ?2)`,
        args: [raw, Date.now()],
      });
    },
    async close() {
      for (const c of controls.values()) c.resume();
      await admin.client.execute(`DROP TABLE IF EXISTS ${tablePrefix}log`).catch(() => undefined);
      for (const c of clients) c.close();
    },
  };
}

/**
 * The four suites (store and bus, on `:memory:` and on a `file:` database in a temp dir),
 * without the runner. `cleanup` of the last one removes the temp dir.
 * @param {{ createLibsqlStore: typeof import("../src/index.ts").createLibsqlStore,
 *           createLibsqlBus: typeof import("../src/index.ts").createLibsqlBus }} adapter
 */
export function libsqlSuites({ createLibsqlStore, createLibsqlBus }) {
  const timing = { confirmIntervalMs: POLL_MS };
  // :memory: — every store of the run shares one client (= one database), as the README advises.
  /** @type {import("@libsql/client").Client | undefined} */
  let memory;
  const memoryLogs = opener(":memory:");
  // file: — every store and bus opens its own client on one file, as separate processes do.
  const dir = tempDir();
  const fileUrl = dir.url("store.db");
  const fileLogs = opener(dir.url("bus.db"));
  return {
    memoryStore: {
      name: "libsql :memory:",
      setup: async () => {
        memory = createClient({ url: ":memory:" });
      },
      cleanup: async () => memory?.close(),
      createStore: async () =>
        createLibsqlStore({ client: /** @type {import("@libsql/client").Client} */ (memory) }),
    },
    memoryBus: {
      name: "libsql :memory:",
      cleanup: async () => memoryLogs.close(),
      createLog: async () => libsqlTestLog(memoryLogs.open, createLibsqlBus),
      timing,
    },
    fileStore: {
      name: "libsql file:",
      createStore: async () => createLibsqlStore({ url: fileUrl }),
    },
    fileBus: {
      name: "libsql file:",
      cleanup: async () => dir.remove(),
      createLog: async () => libsqlTestLog(fileLogs.open, createLibsqlBus),
      timing,
    },
  };
}
