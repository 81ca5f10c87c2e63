import { expect, test } from "bun:test";
import type { BusState } from "@authcache/core";
import { createClient } from "@libsql/client";
import { createLibsqlBus, createLibsqlStore, isBusyError } from "../src/index.ts";
import { faulty, tempDir } from "./suite-options.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FAR = () => Date.now() + 3_600_000;

async function waitFor(check: () => boolean, what: string, attempts = 1000): Promise<void> {
  for (let i = 0; i < attempts && !check(); i++) await sleep(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

test("options: bad prefix, both or neither of client/url, bad intervals are rejected by name", () => {
  expect(() => createLibsqlStore({ url: ":memory:", tablePrefix: "x; DROP TABLE y" })).toThrow(
    /tablePrefix/,
  );
  const client = createClient({ url: ":memory:" });
  expect(() => createLibsqlStore({ url: ":memory:", client })).toThrow(/exactly one/);
  expect(() => createLibsqlBus({})).toThrow(/exactly one/);
  expect(() => createLibsqlBus({ client, pollIntervalMs: 0 })).toThrow(/pollIntervalMs/);
  expect(() => createLibsqlStore({ client, pruneBatchSize: 0 })).toThrow(/pruneBatchSize/);
  client.close();
});

test("close: a store or bus closes the client it opened, never one it was given", async () => {
  const given = createClient({ url: ":memory:" });
  const store = createLibsqlStore({ client: given });
  const bus = createLibsqlBus({ client: given });
  await store.set("k", "v", FAR());
  await bus.publish({ type: "user", email: "a@x.com" });
  await store.close();
  await bus.close();
  expect(given.closed).toBe(false);
  given.close();

  const own = createLibsqlStore({ url: ":memory:" });
  await own.set("k", "v", FAR());
  expect(await own.get("k")).toBe("v");
  await own.close();
  expect(own.client.closed).toBe(true);
});

test(":memory: store and bus on one client share one database", async () => {
  const client = createClient({ url: ":memory:" });
  const store = createLibsqlStore({ client });
  const bus = createLibsqlBus({ client, pollIntervalMs: 20 });
  const got: string[] = [];
  await bus.subscribe({
    message: (m) => got.push(m.type),
    reset: () => {},
    caughtUp: () => {},
  });
  await store.addMember("revoked", "j1", FAR());
  await bus.publish({ type: "revoke", jti: "j1" });
  await waitFor(() => got.length === 1, "the message");
  const tables = await client.execute(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'authcache_%' ORDER BY name",
  );
  expect(tables.rows.map((r) => r.name)).toEqual([
    "authcache_entries",
    "authcache_log",
    "authcache_members",
    "authcache_owners",
  ]);
  await store.close();
  await bus.close();
  client.close();
});

test("prune: expired entries, their owner rows and expired members go, in batches; live rows stay", async () => {
  let clock = 1_000_000;
  const client = createClient({ url: ":memory:" });
  const store = createLibsqlStore({ client, now: () => clock, pruneBatchSize: 100 });
  for (let i = 0; i < 450; i++) {
    await store.set(`dead${i}`, "v", clock + 10, ["own:a", `own:${i}`]);
    await store.addMember("revoked", `dead${i}`, clock + 10);
  }
  await store.set("live", "v", clock + 1_000, ["own:a"]);
  await store.addMember("revoked", "live", clock + 1_000);
  await store.incr("gen:all");
  clock += 11;
  // Expired rows read as absent before any prune.
  expect(await store.get("dead1")).toBeUndefined();
  expect(await store.countMembers("revoked")).toBe(1);
  const removed = await store.prune();
  expect(removed).toBe(900); // 450 entries + 450 members, five batches each
  const count = async (t: string) =>
    Number((await client.execute(`SELECT count(*) AS n FROM authcache_${t}`)).rows[0]?.n);
  expect(await count("entries")).toBe(2); // "live" and the gen:all counter
  expect(await count("owners")).toBe(1);
  expect(await count("members")).toBe(1);
  expect(await store.get("live")).toBe("v");
  expect(await store.getCounter("gen:all")).toBe(1);
  await store.close();
  client.close();
});

test("prune: the timer prunes by itself", async () => {
  const client = createClient({ url: ":memory:" });
  const store = createLibsqlStore({ client, pruneIntervalMs: 20 });
  await store.set("short", "v", Date.now() + 30);
  const count = async () =>
    Number((await client.execute("SELECT count(*) AS n FROM authcache_entries")).rows[0]?.n);
  expect(await count()).toBe(1);
  for (let i = 0; i < 200 && (await count()) > 0; i++) await sleep(10);
  expect(await count()).toBe(0);
  await store.close();
  client.close();
});

test("deleteOwner is one statement and leaves no owner rows behind", async () => {
  const client = createClient({ url: ":memory:" });
  const store = createLibsqlStore({ client });
  for (let i = 0; i < 50; i++) await store.set(`k${i}`, "v", FAR(), ["own:u", "own:t"]);
  await store.deleteOwner("own:t");
  const owners = await client.execute("SELECT count(*) AS n FROM authcache_owners");
  expect(Number(owners.rows[0]?.n)).toBe(0);
  expect((await store.getMany(["k0", "k49"])).filter(Boolean).length).toBe(0);
  await store.close();
  client.close();
});

test("SQLITE_BUSY from another connection's lock is waited out on a given client", async () => {
  const dir = tempDir();
  const url = dir.url("busy.db");
  // A given client with no busy timeout: SQLite fails at once, the adapter's retries wait.
  const given = createClient({ url });
  const holder = createClient({ url });
  const store = createLibsqlStore({ client: given });
  try {
    await store.set("before", "v", FAR());
    const tx = await holder.transaction("write");
    await tx.execute({
      sql: "INSERT INTO authcache_entries VALUES ('held', 'v', ?1)",
      args: [FAR()],
    });
    // The lock is real: a plain statement on the other client fails busy right now.
    const direct = await given
      .execute({ sql: "INSERT INTO authcache_entries VALUES ('x', 'v', 1)", args: [] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isBusyError(direct)).toBe(true);
    const pending = store.set("during", "v", FAR());
    const incr = store.incr("gen:x");
    await sleep(150);
    await tx.commit();
    await pending;
    expect(await incr).toBe(1);
    expect(await store.getMany(["held", "during"])).toEqual(["v", "v"]);
  } finally {
    await store.close();
    given.close();
    holder.close();
    dir.remove();
  }
});

test("bus: publishing trims the log to maxLength, and by age, never removing the newest row", async () => {
  const client = createClient({ url: ":memory:" });
  const bus = createLibsqlBus({ client, maxLength: 5, retentionMs: 60_000 });
  for (let i = 0; i < 20; i++) await bus.publish({ type: "user", email: `${i}@x.com` });
  await bus.trim();
  const rows = async () =>
    (await client.execute("SELECT id FROM authcache_log WHERE id > 0 ORDER BY id")).rows.map((r) =>
      Number(r.id),
    );
  expect(await rows()).toEqual([16, 17, 18, 19, 20]);
  await client.execute("UPDATE authcache_log SET created_at = 0");
  await bus.trim();
  expect(await rows()).toEqual([20]);
  await bus.close();
  client.close();
});

test("bus: a subscribe while the database is unreachable resolves, reports down, then up and resets once", async () => {
  const client = createClient({ url: ":memory:" });
  const publisher = createLibsqlBus({ client });
  await publisher.publish({ type: "user", email: "before@x.com" });
  const f = faulty(client);
  f.failFor(300);
  const bus = createLibsqlBus({ client: f.client, pollIntervalMs: 20 });
  const states: BusState[] = [];
  bus.onState((s) => states.push(s));
  let resets = 0;
  const got: string[] = [];
  let confirmations = 0;
  await bus.subscribe({
    message: (m) => got.push(m.type === "user" ? m.email : m.type),
    reset: () => resets++,
    caughtUp: () => confirmations++,
  });
  expect(states).toEqual(["down"]);
  await waitFor(() => states.at(-1) === "up" && confirmations > 0, "up and confirming");
  expect(resets).toBe(1);
  await publisher.publish({ type: "user", email: "after@x.com" });
  await waitFor(() => got.length === 1, "the next entry");
  expect(got).toEqual(["after@x.com"]);
  await bus.close();
  await publisher.close();
  client.close();
});

test("bus: a poll that hangs reports down after pollTimeoutMs, and following resumes without loss", async () => {
  const client = createClient({ url: ":memory:" });
  const publisher = createLibsqlBus({ client });
  const f = faulty(client);
  const bus = createLibsqlBus({ client: f.client, pollIntervalMs: 20, pollTimeoutMs: 100 });
  const states: BusState[] = [];
  bus.onState((s) => states.push(s));
  const got: string[] = [];
  await bus.subscribe({
    message: (m) => got.push(m.type === "user" ? m.email : m.type),
    reset: () => {
      throw new Error("no reset expected");
    },
    caughtUp: () => {},
  });
  f.pause();
  await publisher.publish({ type: "user", email: "1@x.com" });
  await waitFor(() => states.includes("down"), "down while stalled");
  await sleep(350); // several polls are abandoned; their late answers must change nothing
  f.resume();
  await publisher.publish({ type: "user", email: "2@x.com" });
  await waitFor(() => got.length === 2 && states.at(-1) === "up", "both entries, up again");
  expect(got).toEqual(["1@x.com", "2@x.com"]);
  await bus.close();
  await publisher.close();
  client.close();
});

test("bus: a log table recreated by another system (no identity row) that outgrows the follower resets it", async () => {
  const client = createClient({ url: ":memory:" });
  const publisher = createLibsqlBus({ client });
  const f = faulty(client);
  const bus = createLibsqlBus({ client: f.client, pollIntervalMs: 20 });
  const order: string[] = [];
  await bus.subscribe({
    message: (m) => order.push(m.type === "user" ? m.email : m.type),
    reset: () => order.push("reset"),
    caughtUp: () => {},
  });
  for (let i = 0; i < 2; i++) await publisher.publish({ type: "user", email: `old${i}@x.com` });
  await waitFor(() => order.length === 2, "2 entries");
  f.pause();
  // Another system drops and recreates the table (without the identity row) and writes more
  // rows than the follower had read: ids alone would read as "3 new entries".
  await client.execute("DROP TABLE authcache_log");
  await client.execute(
    "CREATE TABLE authcache_log (id INTEGER PRIMARY KEY AUTOINCREMENT, message TEXT NOT NULL, created_at INTEGER NOT NULL)",
  );
  for (let i = 0; i < 5; i++)
    await client.execute({
      sql: "INSERT INTO authcache_log (message, created_at) VALUES (?1, ?2)",
      args: [JSON.stringify({ v: 1, type: "user", email: `new${i}@x.com` }), Date.now()],
    });
  f.resume();
  await waitFor(() => order.includes("reset"), "a reset");
  await publisher.publish({ type: "user", email: "after@x.com" });
  await waitFor(() => order.includes("after@x.com"), "the entry after the reset");
  expect(order).toEqual(["old0@x.com", "old1@x.com", "reset", "after@x.com"]);
  const identity = await client.execute("SELECT message FROM authcache_log WHERE id = 0");
  expect(identity.rows.length).toBe(1);
  await bus.close();
  await publisher.close();
  client.close();
});

test("a dropped change-log or store table is created again by the running instances: publish, follow and read recover, and followers reset", async () => {
  const client = createClient({ url: ":memory:" });
  const bus = createLibsqlBus({ client, pollIntervalMs: 20 });
  const store = createLibsqlStore({ client });
  const order: string[] = [];
  await bus.subscribe({
    message: (m) => order.push(m.type === "user" ? m.email : m.type),
    reset: () => order.push("reset"),
    caughtUp: () => {},
  });
  await bus.publish({ type: "user", email: "before@x.com" });
  await store.set("k", "v1", FAR());
  await waitFor(() => order.length === 1, "the first entry");
  // An operator drops the change-log and the entries table under the running instances.
  await client.execute("DROP TABLE authcache_log");
  await client.execute("DROP TABLE authcache_entries");
  // The next publish succeeds (the table is created again, with a new identity)...
  await bus.publish({ type: "user", email: "after@x.com" });
  await waitFor(() => order.includes("reset"), "a reset");
  await bus.publish({ type: "user", email: "later@x.com" });
  await waitFor(() => order.includes("later@x.com"), "the entry after the reset");
  expect(order[0]).toBe("before@x.com");
  expect(order).toContain("reset");
  expect(order.indexOf("later@x.com")).toBeGreaterThan(order.indexOf("reset"));
  // ...and the store answers (the dropped entry is a miss) and takes writes again.
  expect((await store.read(["k"], [])).values).toEqual([undefined]);
  await store.set("k", "v2", FAR());
  expect((await store.read(["k"], [])).values).toEqual(["v2"]);
  await bus.close();
  await store.close();
  client.close();
});
