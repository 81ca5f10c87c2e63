import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestLog } from "@authcache/conformance";
import type { InvalidationBus } from "@authcache/core";
import { type Client, createClient } from "@libsql/client";
import { createLibsqlBus } from "../src/index.ts";

/** A temporary directory for `file:` databases, removed by `remove()`. */
export function tempDir(): { dir: string; url(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "authcache-libsql-"));
  return {
    dir,
    url: (name) => `file:${join(dir, name)}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A client whose calls can be made to fail (a cut connection) or to wait (a stalled follower):
 *  fault injection in front of a real database. */
export interface FaultyClient {
  readonly client: Client;
  /** Every call fails for `ms`, as a dropped connection would. */
  failFor(ms: number): void;
  /** Calls wait until `resume()`. */
  pause(): void;
  resume(): void;
}

export function faulty(real: Client): FaultyClient {
  let failUntil = 0;
  let gate: { promise: Promise<void>; open(): void } | undefined;
  const guarded =
    (name: "execute" | "batch") =>
    async (...args: unknown[]): Promise<unknown> => {
      if (Date.now() < failUntil) throw new Error("test: connection interrupted");
      if (gate !== undefined) await gate.promise;
      if (Date.now() < failUntil) throw new Error("test: connection interrupted");
      return (real[name] as (...a: unknown[]) => Promise<unknown>).apply(real, args);
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
    failFor(ms) {
      failUntil = Date.now() + ms;
    },
    pause() {
      if (gate !== undefined) return;
      let open = () => {};
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    resume() {
      const g = gate;
      gate = undefined;
      g?.open();
    },
  };
}

let logCounter = 0;

/** A fresh log (its own table prefix) for one bus conformance test. `open()` returns the client
 *  for one bus: a shared client for `:memory:` (one client = one in-memory database), or a
 *  new client per bus on a `file:` database (separate connections, as separate processes). */
export function libsqlTestLog(
  open: () => { client: Client; close(): void },
  pollIntervalMs: number,
): TestLog {
  const tablePrefix = `log${process.pid}_${++logCounter}_`;
  const controls = new Map<InvalidationBus, FaultyClient>();
  const clients: { close(): void }[] = [];
  const admin = open();
  clients.push(admin);
  const control = (bus: InvalidationBus) => {
    const c = controls.get(bus);
    if (c === undefined) throw new Error("test: unknown bus");
    return c;
  };
  return {
    async createBus() {
      const opened = open();
      clients.push(opened);
      const f = faulty(opened.client);
      const bus = createLibsqlBus({ client: f.client, tablePrefix, pollIntervalMs });
      controls.set(bus, f);
      return bus;
    },
    pause: (bus) => control(bus).pause(),
    resume: (bus) => control(bus).resume(),
    interrupt: (bus) => control(bus).failFor(pollIntervalMs * 3),
    async trim(keep) {
      await admin.client.execute({
        sql: `DELETE FROM ${tablePrefix}log WHERE id <= (SELECT max(id) FROM ${tablePrefix}log) - ?1`,
        args: [keep],
      });
    },
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

/** Opens a client the caller closes; `:memory:` opens are all the same shared client. */
export function opener(url: string): { open(): { client: Client; close(): void }; close(): void } {
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
