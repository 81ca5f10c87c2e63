// Redis-specific store behaviour the shared suite does not cover: what each call costs in
// commands, bounded indexes, client ownership, option errors, and no keyspace walks.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, type TestServer } from "@authcache/test-servers";
import { Redis } from "ioredis";
import { createRedisStore } from "../src/index.ts";

let server: TestServer;
let admin: Redis;

beforeAll(async () => {
  server = await startServer("redis");
  admin = new Redis(server.url);
});

afterAll(async () => {
  await admin?.quit();
  await server?.stop();
});

/** Counts the commands a client sends (each is one request on the wire). */
function countCommands(client: Redis): string[] {
  const sent: string[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    sent.push(command.name);
    return original(command, stream);
  };
  return sent;
}

/** Calls per command the server ran (INFO commandstats), scripts' inner calls included. */
async function commandStats(): Promise<Map<string, number>> {
  const text = (await admin.info("commandstats")) as string;
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

/** Counts writes to the client's socket (a pipeline's commands go out in one write). */
function countWrites(client: Redis): { count: number } {
  const counter = { count: 0 };
  const stream = client.stream;
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    counter.count++;
    return original(...args);
  }) as typeof stream.write;
  return counter;
}

test("a context read is one MGET and one ZSCORE in one socket write (one round trip), no script", async () => {
  const client = new Redis(server.url);
  const store = createRedisStore({ client });
  try {
    const exp = Date.now() + 60_000;
    await store.set("rt:ctx:{u:a}:j1", "v", exp, ["rt:own:{u:a}"]);
    await store.incr("rt:gen:all");
    await store.addMember("rt:revoked", "j1", exp);
    const sent = countCommands(client);
    const writes = countWrites(client);
    const before = await commandStats();
    const r = await store.read(
      ["rt:ctx:{u:a}:j1", "rt:gen:{u:a}", "rt:gen:all"],
      [{ set: "rt:revoked", member: "j1" }],
    );
    expect(r).toEqual({ values: ["v", undefined, "1"], members: [true] });
    expect(sent).toEqual(["mget", "zscore"]);
    expect(writes.count).toBe(1);
    // On the server: two plain commands, no script (EVAL/EVALSHA run one at a time).
    const after = await commandStats();
    const ran = (cmd: string) => (after.get(cmd) ?? 0) - (before.get(cmd) ?? 0);
    expect(ran("mget")).toBe(1);
    expect(ran("zscore")).toBe(1);
    expect(ran("evalsha") + ran("eval") + ran("get")).toBe(0);
    // Without a member check (every other kind's read, getMany): one MGET, one write.
    sent.length = 0;
    writes.count = 0;
    expect(await store.read(["rt:ctx:{u:a}:j1", "rt:gen:all"], [])).toEqual({
      values: ["v", "1"],
      members: [],
    });
    expect(sent).toEqual(["mget"]);
    expect(writes.count).toBe(1);
    // A member check alone (hasMember): one ZSCORE; an expired member is not live.
    await store.addMember("rt:revoked", "gone", Date.now() + 30);
    await Bun.sleep(40);
    sent.length = 0;
    expect(await store.hasMember("rt:revoked", "gone")).toBe(false);
    expect(sent).toEqual(["zscore"]);
  } finally {
    await store.close();
    await client.quit();
  }
});

test("deleteOwner is one command whatever the owner holds, and leaves other keys alone", async () => {
  const client = new Redis(server.url);
  const store = createRedisStore({ client });
  try {
    const exp = Date.now() + 60_000;
    for (let i = 0; i < 200; i++) await store.set(`do:k:{u:a}:${i}`, "v", exp, ["do:own:{u:a}"]);
    await store.set("do:k:{u:b}:0", "other", exp, ["do:own:{u:b}"]);
    await store.deleteOwner("do:own:{u:nobody}"); // loads the script
    const sent = countCommands(client);
    const before = await commandStats();
    await store.deleteOwner("do:own:{u:a}");
    expect(sent).toEqual(["evalsha"]);
    // On the server: the index read once, its members deleted in bulk, no keyspace walk.
    const after = await commandStats();
    const ran = (cmd: string) => (after.get(cmd) ?? 0) - (before.get(cmd) ?? 0);
    expect(ran("zrange")).toBe(1);
    expect(ran("del")).toBe(2); // the index, then its 200 members in one DEL
    expect(after.has("scan") || after.has("keys")).toBe(false);
    expect(await admin.exists("do:k:{u:a}:0", "do:k:{u:a}:199", "do:own:{u:a}")).toBe(0);
    expect(await store.get("do:k:{u:b}:0")).toBe("other");
  } finally {
    await store.close();
    await client.quit();
  }
});

test("owner indexes and the revoked set prune expired members and expire themselves", async () => {
  const store = createRedisStore({ url: server.url });
  try {
    // One long-lived member keeps each set alive, so what follows tests pruning, not expiry.
    const later = Date.now() + 60_000;
    await store.set("pr:k:{u:a}:keep", "v", later, ["pr:own:{u:a}"]);
    await store.addMember("pr:revoked", "keep", later);
    const soon = Date.now() + 500;
    for (let i = 0; i < 50; i++) {
      await store.set(`pr:k:{u:a}:${i}`, "v", soon, ["pr:own:{u:a}"]);
      await store.addMember("pr:revoked", `j${i}`, soon);
    }
    // Checked only when the writes really finished well before their deadline (a stalled
    // machine skips the check rather than failing it).
    if (Date.now() < soon - 200) {
      expect(await admin.zcard("pr:own:{u:a}")).toBe(51);
      expect(await admin.zcard("pr:revoked")).toBe(51);
    }
    await Bun.sleep(Math.max(0, soon - Date.now()) + 20);
    // The next write prunes what expired; each set lives as long as its longest member.
    const latest = later + 1_000;
    await store.set("pr:k:{u:a}:new", "v", latest, ["pr:own:{u:a}"]);
    await store.addMember("pr:revoked", "jnew", latest);
    expect(await admin.zcard("pr:own:{u:a}")).toBe(2);
    expect(await admin.zcard("pr:revoked")).toBe(2);
    expect(await store.countMembers("pr:revoked")).toBe(2);
    expect(await admin.pexpiretime("pr:own:{u:a}")).toBe(latest);
    expect(await admin.pexpiretime("pr:revoked")).toBe(latest);
  } finally {
    await store.close();
  }
});

test("incr keeps the longest deadline and a past deadline never deletes a counter", async () => {
  const store = createRedisStore({ url: server.url });
  try {
    const far = Date.now() + 120_000;
    expect(await store.incr("ic:gen", far)).toBe(1);
    expect(await store.incr("ic:gen", Date.now() + 10_000)).toBe(2);
    expect(await admin.pexpiretime("ic:gen")).toBe(far);
    expect(await store.incr("ic:gen", Date.now() - 1_000)).toBe(3);
    expect(await store.getCounter("ic:gen")).toBe(3);
    expect(await store.incr("ic:forever")).toBe(1);
    expect(await store.incr("ic:forever", far)).toBe(2);
    expect(await admin.pttl("ic:forever")).toBe(-1); // never given an expiry: keeps none
  } finally {
    await store.close();
  }
});

test("a store closes the client it opened and never one it was given", async () => {
  const given = new Redis(server.url);
  try {
    const borrowed = createRedisStore({ client: given });
    expect(borrowed.client).toBe(given);
    await borrowed.set("own:x", "1", Date.now() + 10_000);
    await borrowed.close();
    await borrowed.close();
    expect(await given.get("own:x")).toBe("1");
    const opened = createRedisStore({ host: server.host, port: server.port });
    await opened.get("own:x");
    await opened.close();
    expect(opened.client.status).toBe("end");
    await expect(opened.get("own:x")).rejects.toThrow(/adapter-redis.*after close/);
  } finally {
    await given.quit();
  }
});

test("bad options fail at construction, naming the package", () => {
  expect(() => createRedisStore({})).toThrow(
    /@authcache\/adapter-redis: createRedisStore needs exactly one/,
  );
  expect(() => createRedisStore({ url: server.url, nodes: [server.port] })).toThrow(/exactly one/);
  expect(() => createRedisStore({ client: {} as Redis })).toThrow(/ioredis Redis or Cluster/);
  expect(() => createRedisStore({ nodes: [] })).toThrow(/non-empty/);
});

test("errors name the package and keep their cause", async () => {
  const store = createRedisStore({ url: server.url });
  try {
    await admin.set("er:wrongtype", "x");
    const error = await store.addMember("er:wrongtype", "m", Date.now() + 1000).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /@authcache\/adapter-redis: redis store addMember failed/,
    );
    expect((error as Error).cause).toBeInstanceOf(Error);
  } finally {
    await store.close();
  }
});

test("the source walks no keyspace: no SCAN, no KEYS command, no pattern", () => {
  const dir = join(import.meta.dir, "..", "src");
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), "utf8");
    // Lua's KEYS[i] array is how a script receives its key arguments, not the KEYS command.
    const withoutLuaKeys = text.replace(/#?KEYS\[|#KEYS/g, "");
    const hit =
      /\b(SCAN|KEYS|MATCH)\b|\bscan\w*\(|\.keys\(/.exec(withoutLuaKeys)?.[0] ??
      /["'`](scan|keys)["'`]/i.exec(withoutLuaKeys)?.[0];
    expect({ file, hit }).toEqual({ file, hit: undefined });
  }
});
