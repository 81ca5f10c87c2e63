import { afterAll, beforeAll, test } from "bun:test";
import { runBusSuite, runStoreSuite } from "@authcache/conformance";
import { createClient } from "@libsql/client";
import { createLibsqlStore } from "../src/index.ts";
import { libsqlTestLog, opener, tempDir } from "./fixtures.ts";

const POLL_MS = 50;
const runner = {
  test: (name: string, fn: () => Promise<void>, timeoutMs: number) => test(name, fn, timeoutMs),
  skipTest: (name: string) => test.skip(name, () => {}),
  beforeAll,
  afterAll,
};

// :memory: — one client per database, so every store of the run shares one client.
let memory: ReturnType<typeof createClient> | undefined;
runStoreSuite({
  ...runner,
  name: "libsql :memory:",
  setup: async () => {
    memory = createClient({ url: ":memory:" });
  },
  cleanup: async () => memory?.close(),
  createStore: async () => createLibsqlStore({ client: memory as NonNullable<typeof memory> }),
});

const memoryLogs = opener(":memory:");
runBusSuite({
  ...runner,
  name: "libsql :memory:",
  cleanup: async () => memoryLogs.close(),
  createLog: async () => libsqlTestLog(memoryLogs.open, POLL_MS),
  timing: { confirmIntervalMs: POLL_MS },
});

// file: — every store and bus opens its own client on one database file, as processes would.
const dir = tempDir();
const fileUrl = dir.url("conformance.db");
runStoreSuite({
  ...runner,
  name: "libsql file:",
  cleanup: async () => dir.remove(),
  createStore: async () => createLibsqlStore({ url: fileUrl }),
});

const fileLogs = opener(dir.url("bus.db"));
runBusSuite({
  ...runner,
  name: "libsql file:",
  createLog: async () => libsqlTestLog(fileLogs.open, POLL_MS),
  timing: { confirmIntervalMs: POLL_MS },
});
