/**
 * Revocation propagation across two instances: from `invalidateRevocation` on A to B's follower
 * having applied it (B's L1 then refuses the token), per bus. One revocation in flight at a
 * time. Baselines measured in the same run: the raw transport each bus is built on.
 */
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { GlideClient } from "@valkey/valkey-glide";
import { Redis } from "ioredis";
import { BACKENDS, type BackendKind, openFleet } from "../lib/backends.ts";
import { sampleContext } from "../lib/core.ts";
import { percentile } from "../lib/sampler.ts";
import { ResultBuilder, ratio, sleep } from "../lib/scenario-kit.ts";
import type { Context, Row, Scenario } from "../lib/types.ts";
import { bentoTwoTier } from "../peers/two-tier.ts";

const TIMEOUT_MS = 3_000;
const LIBSQL_POLL_MS = 100;

/** Resolves with the time at which `key` was signalled, or undefined after TIMEOUT_MS. */
class Waiters {
  readonly #pending = new Map<string, (t: number) => void>();
  wait(key: string): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        resolve(undefined);
      }, TIMEOUT_MS);
      this.#pending.set(key, (t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }
  signal(key: string): void {
    const f = this.#pending.get(key);
    if (f) {
      this.#pending.delete(key);
      f(performance.now());
    }
  }

  /** Sends `m<i>` for i from -warmup to n-1, one in flight, each after `pause` (if any), and
   *  times send -> signal; warm-up sends are not counted. */
  async timeSends(
    n: number,
    warmup: number,
    send: (tag: string) => Promise<unknown>,
    pause?: () => Promise<void>,
  ): Promise<Sample> {
    const lat: number[] = [];
    let lost = 0;
    for (let i = -warmup; i < n; i++) {
      if (pause) await pause();
      const got = this.wait(`m${i}`);
      const t0 = performance.now();
      await send(`m${i}`);
      const at = await got;
      if (i < 0) continue;
      if (at === undefined) lost++;
      else lat.push((at - t0) * 1000);
    }
    return { latUs: lat, lost };
  }
}

interface Sample {
  readonly latUs: number[];
  readonly lost: number;
  readonly refused?: number;
  readonly sendUs?: number[];
}

export const propagation: Scenario = {
  id: "propagation",
  title: "Revocation propagation across two instances",
  async run(ctx: Context) {
    const count = (kind: BackendKind | "raw-libsql"): number =>
      ctx.size === "smoke"
        ? 5
        : kind === "libsql" || kind === "raw-libsql"
          ? 150
          : kind === "memory"
            ? 2_000
            : 1_000;
    const b = new ResultBuilder({
      id: "propagation",
      title: "Revocation propagation across two instances",
      metric: "p50 µs (send -> other instance applied)",
      better: "lower",
      baseline:
        "the raw transport under that bus in the same run (Redis/Valkey: XADD -> XREAD BLOCK follower; libSQL: INSERT -> poll every 100 ms; memory: EventEmitter emit)",
      columns: ["messages", "p99 µs", "lost", "refused by B", "publish p50 µs"],
    });
    b.note(
      "authcache: B holds the context in its L1; A calls invalidateRevocation(jti); the time is taken when B's bus follower has handed the entry to B's cache (an observing wrapper around B's bus handler), then B.getAuthContext is checked to refuse the token (counted, not timed). One message in flight; both instances in this process, each with its own connections.",
    );
    b.note(
      `Buses at their defaults (confirm every 250 ms; libSQL polls every ${LIBSQL_POLL_MS} ms, so its latency is about half the poll interval by design; on libSQL each send waits a random fraction of the poll interval first, so sends do not lock to the poll phase). bentocache's bus is Redis Pub/Sub (at-most-once); its time includes A's L1 delete and Redis DEL before PUBLISH.`,
    );
    const bases: Partial<Record<string, number>> = {};
    const add = (
      name: string,
      backend: string,
      subject: Row["subject"],
      s: Sample,
      baseKey: string,
    ): void => {
      const sorted = [...s.latUs].sort((a, c) => a - c);
      const p50 = percentile(sorted, 50);
      if (subject === "baseline") bases[baseKey] = p50;
      const send = s.sendUs ? [...s.sendUs].sort((a, c) => a - c) : undefined;
      b.add({
        case: name,
        backend,
        subject,
        group: `prop-${backend}`,
        value: p50,
        ratio: ratio(p50, bases[baseKey]),
        cols: {
          messages: s.latUs.length + s.lost,
          "p99 µs": percentile(sorted, 99),
          lost: s.lost,
          "refused by B": s.refused === undefined ? "-" : s.refused,
          "publish p50 µs": send ? percentile(send, 50) : "-",
        },
      });
      ctx.log(
        `  ${name} [${backend}]: p50 ${p50.toFixed(0)} µs, p99 ${percentile(sorted, 99).toFixed(0)} µs, lost ${s.lost}`,
      );
    };

    for (const kind of BACKENDS) {
      // The raw transport first, so the ratio has its base.
      if (kind === "memory")
        add("EventEmitter emit -> listener", kind, "baseline", await rawEmitter(count(kind)), kind);
      if (kind === "redis" || kind === "valkey") {
        await ctx.flush(kind);
        const s = await ctx.server(kind);
        add(
          "XADD -> XREAD BLOCK follower (raw, ioredis)",
          kind,
          "baseline",
          await rawStream(s, count(kind)),
          kind === "valkey" ? "valkey-ioredis" : kind,
        );
        // The Valkey adapter is built on valkey-glide, whose every call crosses to its own
        // threads: the hop on glide is the transport under that bus (as l2-hit's Valkey rows
        // divide by glide's GET); the ioredis hop above stays for comparison.
        if (kind === "valkey")
          add(
            "XADD -> XREAD BLOCK follower (raw, valkey-glide)",
            kind,
            "baseline",
            await rawStreamGlide(s, count(kind)),
            kind,
          );
        if (kind === "redis")
          add(
            "PUBLISH -> SUBSCRIBE (raw, ioredis)",
            kind,
            "baseline",
            await rawPubSub(s, count(kind)),
            "redis-pubsub",
          );
      }
      if (kind === "libsql")
        add(
          `INSERT -> poll every ${LIBSQL_POLL_MS} ms (raw)`,
          kind,
          "baseline",
          await rawPoll(count("raw-libsql")),
          kind,
        );

      const fleet = await openFleet(ctx, kind, { prefix: "bench-prop:" });
      if (!fleet.ok) {
        b.miss(`propagation on the ${kind} bus: ${fleet.reason}`);
        continue;
      }
      try {
        const waiters = new Waiters();
        const a = await fleet.value.newCache();
        const bCache = await fleet.value.newCache({}, (m) => {
          if (m.type === "revoke" && m.jti) waiters.signal(m.jti);
        });
        await sleep(300); // both followers subscribed and confirmed once
        const n = count(kind);
        const lat: number[] = [];
        const send: number[] = [];
        let lost = 0;
        let refused = 0;
        for (let i = -10; i < n; i++) {
          const jti = `prop-${kind}-${i}`;
          const email = `prop${i}@example.com`;
          await bCache.setAuthContext(email, jti, sampleContext(i));
          // A polled bus: send at a random phase of the poll, as real traffic would.
          if (kind === "libsql") await sleep(Math.random() * LIBSQL_POLL_MS);
          const got = waiters.wait(jti);
          const t0 = performance.now();
          await a.invalidateRevocation(jti, Date.now() + 600_000);
          const t1 = performance.now();
          const at = await got;
          if (i < 0) continue; // warm-up
          if (at === undefined) lost++;
          else lat.push((at - t0) * 1000);
          send.push((t1 - t0) * 1000);
          const v = await bCache.getAuthContext(email, jti);
          if (v === undefined || v.isTokenRevoked) refused++;
        }
        add(
          "authcache invalidateRevocation -> B applied",
          kind,
          "authcache",
          { latUs: lat, lost, refused, sendUs: send },
          kind,
        );
      } finally {
        await fleet.value.close();
      }
    }

    // bentocache's bus over the same Redis.
    const redis = await ctx.server("redis");
    const a = bentoTwoTier(redis, { serializeL1: true, prefix: "bench-prop-bento", bus: true });
    const bb = bentoTwoTier(redis, { serializeL1: true, prefix: "bench-prop-bento", bus: true });
    try {
      let pending: (() => void) | undefined;
      bb.onBusReceived(() => pending?.());
      // Its bus subscribes on first use: wait until a delete has been delivered once.
      await bb.get("warm");
      for (let tries = 0; tries < 50; tries++) {
        const got = new Promise<boolean>((resolve) => {
          pending = () => resolve(true);
          setTimeout(() => resolve(false), 100);
        });
        await a.delete("warm");
        if (await got) break;
      }
      const n = count("redis");
      const lat: number[] = [];
      let lost = 0;
      for (let i = 0; i < n; i++) {
        const key = `k${i}`;
        const got = new Promise<number | undefined>((resolve) => {
          const timer = setTimeout(() => resolve(undefined), TIMEOUT_MS);
          pending = () => {
            clearTimeout(timer);
            resolve(performance.now());
          };
        });
        const t0 = performance.now();
        await a.delete(key);
        const at = await got;
        if (at === undefined) lost++;
        else lat.push((at - t0) * 1000);
      }
      add(
        "bentocache bus: A.delete() -> B received",
        "redis",
        "peer",
        { latUs: lat, lost },
        "redis",
      );
    } finally {
      await a.close();
      await bb.close();
    }
    return b.done();
  },
};

async function rawEmitter(n: number): Promise<Sample> {
  const e = new EventEmitter();
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      e.once("m", () => {
        lat.push((performance.now() - t0) * 1000);
        resolve();
      });
      e.emit("m", i);
    });
  }
  return { latUs: lat, lost: 0 };
}

async function rawStream(s: { host: string; port: number }, n: number): Promise<Sample> {
  const pub = new Redis({ host: s.host, port: s.port });
  const sub = new Redis({ host: s.host, port: s.port });
  const waiters = new Waiters();
  let stop = false;
  let last = await pub.xadd("raw:stream", "*", "m", "seed");
  const loop = (async () => {
    while (!stop) {
      const r = (await sub.xread("BLOCK", 200, "STREAMS", "raw:stream", last ?? "$")) as
        | [string, [string, string[]][]][]
        | null;
      for (const [, entries] of r ?? [])
        for (const [id, fields] of entries) {
          last = id;
          waiters.signal(fields[1] as string);
        }
    }
  })();
  const sample = await waiters.timeSends(n, 10, (m) =>
    pub.xadd("raw:stream", "MAXLEN", "~", "10000", "*", "m", m),
  );
  stop = true;
  await loop;
  pub.disconnect();
  sub.disconnect();
  return sample;
}

/** The entry ids and last field values of a glide XREAD reply (record or array shapes). */
function glideEntries(reply: unknown): [string, string][] {
  const out: [string, string][] = [];
  const text = (v: unknown): string => (typeof v === "string" ? v : String(v));
  const streams = Array.isArray(reply) ? reply : reply ? Object.entries(reply) : [];
  for (const st of streams) {
    const list: unknown = Array.isArray(st) ? st[1] : (st as { value: unknown }).value;
    const items = Array.isArray(list) ? list : list ? Object.entries(list) : [];
    for (const it of items) {
      const [id, fields] = Array.isArray(it)
        ? [it[0], it[1]]
        : [(it as { key: unknown }).key, (it as { value: unknown }).value];
      const flat = (Array.isArray(fields) ? fields : []).flat(2);
      out.push([text(id), text(flat[flat.length - 1])]);
    }
  }
  return out;
}

async function rawStreamGlide(s: { host: string; port: number }, n: number): Promise<Sample> {
  const addresses = [{ host: s.host, port: s.port }];
  const pub = await GlideClient.createClient({ addresses, requestTimeout: 5000 });
  const sub = await GlideClient.createClient({ addresses, requestTimeout: 5000 });
  const waiters = new Waiters();
  let stop = false;
  let last = String(await pub.xadd("raw:gstream", [["m", "seed"]]));
  const loop = (async () => {
    while (!stop) {
      const r = await sub.xread({ "raw:gstream": last }, { block: 200 });
      for (const [id, tag] of glideEntries(r)) {
        last = id;
        waiters.signal(tag);
      }
    }
  })();
  const sample = await waiters.timeSends(n, 10, (m) =>
    pub.xadd("raw:gstream", [["m", m]], {
      trim: { method: "maxlen", threshold: 10_000, exact: false },
    }),
  );
  stop = true;
  await loop;
  pub.close();
  sub.close();
  return sample;
}

async function rawPubSub(s: { host: string; port: number }, n: number): Promise<Sample> {
  const pub = new Redis({ host: s.host, port: s.port });
  const sub = new Redis({ host: s.host, port: s.port });
  const waiters = new Waiters();
  sub.on("message", (_ch: string, m: string) => waiters.signal(m));
  await sub.subscribe("raw:channel");
  const sample = await waiters.timeSends(n, 10, (m) => pub.publish("raw:channel", m));
  pub.disconnect();
  sub.disconnect();
  return sample;
}

async function rawPoll(n: number): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), "authcache-bench-poll-"));
  const url = `file:${join(dir, "log.db")}`;
  const writer = createClient({ url });
  await writer.execute("PRAGMA journal_mode=WAL");
  await writer.execute("CREATE TABLE log (id INTEGER PRIMARY KEY AUTOINCREMENT, m TEXT NOT NULL)");
  const reader = createClient({ url });
  const waiters = new Waiters();
  let last = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const r = await reader.execute({
        sql: "SELECT id, m FROM log WHERE id > ? ORDER BY id",
        args: [last],
      });
      for (const row of r.rows) {
        last = Number(row.id);
        waiters.signal(String(row.m));
      }
      await sleep(LIBSQL_POLL_MS);
    }
  })();
  // A polled log: send at a random phase of the poll, as real traffic would.
  const sample = await waiters.timeSends(
    n,
    2,
    (m) => writer.execute({ sql: "INSERT INTO log (m) VALUES (?)", args: [m] }),
    () => sleep(Math.random() * LIBSQL_POLL_MS),
  );
  stop = true;
  await loop;
  writer.close();
  reader.close();
  rmSync(dir, { recursive: true, force: true });
  return sample;
}
