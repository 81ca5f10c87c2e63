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
import { median, percentile } from "../lib/sampler.ts";
import { ResultBuilder, sleep } from "../lib/scenario-kit.ts";
import type { Context, Row, Scenario } from "../lib/types.ts";
import { bentoTwoTier, type RedisTarget } from "../peers/two-tier.ts";

const TIMEOUT_MS = 3_000;
/** Interleaved rounds per backend (see the note on the table). */
const ROUNDS = 4;
const LIBSQL_POLL_MS = 100;

/** Resolves with the time at which `key` was signalled, or undefined after TIMEOUT_MS. */
class Waiters {
  readonly #pending = new Map<string, (t: number) => void>();
  #round = 0;
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
    const round = this.#round++;
    for (let i = -warmup; i < n; i++) {
      if (pause) await pause();
      const tag = `m${round}.${i}`;
      const got = this.wait(tag);
      const t0 = performance.now();
      await send(tag);
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
    b.note(
      `Rows of one backend are measured in ${ROUNDS} interleaved rounds (each round sends a quarter of the messages through every row, in table order), and a row's ratio is the median over rounds of its p50 ÷ its baseline's p50 in the same round: the load drifts over the seconds between rows, and pairing cancels most of it. value and p99 are over all the row's messages.`,
    );
    const rounds = ctx.size === "smoke" ? 1 : ROUNDS;
    interface Line {
      readonly name: string;
      readonly subject: Row["subject"];
      readonly baseKey: string;
      readonly session: Session;
      readonly samples: Sample[];
    }
    const report = (backend: string, lines: Line[]): void => {
      const p50s = new Map<Line, number[]>();
      for (const l of lines)
        p50s.set(
          l,
          l.samples.map((x) =>
            percentile(
              [...x.latUs].sort((p, q) => p - q),
              50,
            ),
          ),
        );
      const baseOf = new Map<string, Line>();
      for (const l of lines)
        if (l.subject === "baseline" && !baseOf.has(l.baseKey)) baseOf.set(l.baseKey, l);
      for (const l of lines) {
        const all: Sample = {
          latUs: l.samples.flatMap((x) => x.latUs),
          lost: l.samples.reduce((n, x) => n + x.lost, 0),
          ...(l.samples.some((x) => x.refused !== undefined)
            ? { refused: l.samples.reduce((n, x) => n + (x.refused ?? 0), 0) }
            : {}),
          ...(l.samples.some((x) => x.sendUs !== undefined)
            ? { sendUs: l.samples.flatMap((x) => x.sendUs ?? []) }
            : {}),
        };
        const base = baseOf.get(l.baseKey);
        const mine = p50s.get(l) ?? [];
        const theirs = base ? (p50s.get(base) ?? []) : [];
        const perRound = mine.flatMap((v, i) => {
          const d = theirs[i];
          return d !== undefined && d > 0 && Number.isFinite(v) ? [v / d] : [];
        });
        const sorted = [...all.latUs].sort((p, q) => p - q);
        const p50 = percentile(sorted, 50);
        const send = all.sendUs ? [...all.sendUs].sort((p, q) => p - q) : undefined;
        b.add({
          case: l.name,
          backend,
          subject: l.subject,
          group: `prop-${backend}`,
          value: p50,
          ratio: l === base ? 1 : perRound.length ? median(perRound) : undefined,
          cols: {
            messages: all.latUs.length + all.lost,
            "p99 µs": percentile(sorted, 99),
            lost: all.lost,
            "refused by B": all.refused === undefined ? "-" : all.refused,
            "publish p50 µs": send ? percentile(send, 50) : "-",
          },
        });
        ctx.log(
          `  ${l.name} [${backend}]: p50 ${p50.toFixed(0)} µs, p99 ${percentile(sorted, 99).toFixed(0)} µs, lost ${all.lost}`,
        );
      }
    };

    for (const kind of BACKENDS) {
      const lines: Line[] = [];
      const line = (name: string, subject: Row["subject"], baseKey: string, session: Session) =>
        lines.push({ name, subject, baseKey, session, samples: [] });
      try {
        // The raw transport first, so the ratio has its base.
        if (kind === "memory")
          line("EventEmitter emit -> listener", "baseline", kind, rawEmitter());
        if (kind === "redis" || kind === "valkey") {
          await ctx.flush(kind);
          const s = await ctx.server(kind);
          line(
            "XADD -> XREAD BLOCK follower (raw, ioredis)",
            "baseline",
            kind === "valkey" ? "valkey-ioredis" : kind,
            await rawStream(s),
          );
          // The Valkey adapter is built on valkey-glide, whose every call crosses to its own
          // threads: the hop on glide is the transport under that bus (as l2-hit's Valkey rows
          // divide by glide's GET); the ioredis hop above stays for comparison.
          if (kind === "valkey")
            line(
              "XADD -> XREAD BLOCK follower (raw, valkey-glide)",
              "baseline",
              kind,
              await rawStreamGlide(s),
            );
          if (kind === "redis")
            line(
              "PUBLISH -> SUBSCRIBE (raw, ioredis)",
              "baseline",
              "redis-pubsub",
              await rawPubSub(s),
            );
        }
        if (kind === "libsql")
          line(
            `INSERT -> poll every ${LIBSQL_POLL_MS} ms (raw)`,
            "baseline",
            kind,
            await rawPoll(),
          );

        const ours = await authcacheSession(ctx, kind);
        if (typeof ours === "string") b.miss(`propagation on the ${kind} bus: ${ours}`);
        else line("authcache invalidateRevocation -> B applied", "authcache", kind, ours);
        if (kind === "redis")
          line(
            "bentocache bus: A.delete() -> B received",
            "peer",
            "redis",
            await bentoSession(await ctx.server("redis")),
          );

        const total = count(kind === "libsql" ? "raw-libsql" : kind);
        const per = Math.max(1, Math.floor(total / rounds));
        for (let r = 0; r < rounds; r++)
          for (const l of lines) l.samples.push(await l.session.run(per, r === 0 ? 10 : 0));
        report(kind, lines);
      } finally {
        for (const l of lines) await l.session.close().catch(() => {});
      }
    }
    return b.done();
  },
};

/** One row's transport, opened once and sent through in rounds. */
interface Session {
  /** Sends `n` timed messages (after `warmup` untimed ones), one in flight. */
  run(n: number, warmup: number): Promise<Sample>;
  close(): Promise<void>;
}

function rawEmitter(): Session {
  const e = new EventEmitter();
  return {
    async run(n, warmup) {
      const lat: number[] = [];
      for (let i = -warmup; i < n; i++) {
        const t0 = performance.now();
        await new Promise<void>((resolve) => {
          e.once("m", () => {
            if (i >= 0) lat.push((performance.now() - t0) * 1000);
            resolve();
          });
          e.emit("m", i);
        });
      }
      return { latUs: lat, lost: 0 };
    },
    close: async () => {},
  };
}

async function rawStream(s: { host: string; port: number }): Promise<Session> {
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
  return {
    run: (n, warmup) =>
      waiters.timeSends(n, warmup, (m) =>
        pub.xadd("raw:stream", "MAXLEN", "~", "10000", "*", "m", m),
      ),
    async close() {
      stop = true;
      await loop;
      pub.disconnect();
      sub.disconnect();
    },
  };
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

async function rawStreamGlide(s: { host: string; port: number }): Promise<Session> {
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
  return {
    run: (n, warmup) =>
      waiters.timeSends(n, warmup, (m) =>
        pub.xadd("raw:gstream", [["m", m]], {
          trim: { method: "maxlen", threshold: 10_000, exact: false },
        }),
      ),
    async close() {
      stop = true;
      await loop;
      pub.close();
      sub.close();
    },
  };
}

async function rawPubSub(s: { host: string; port: number }): Promise<Session> {
  const pub = new Redis({ host: s.host, port: s.port });
  const sub = new Redis({ host: s.host, port: s.port });
  const waiters = new Waiters();
  sub.on("message", (_ch: string, m: string) => waiters.signal(m));
  await sub.subscribe("raw:channel");
  return {
    run: (n, warmup) => waiters.timeSends(n, warmup, (m) => pub.publish("raw:channel", m)),
    async close() {
      pub.disconnect();
      sub.disconnect();
    },
  };
}

async function rawPoll(): Promise<Session> {
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
  return {
    // A polled log: send at a random phase of the poll, as real traffic would.
    run: (n, warmup) =>
      waiters.timeSends(
        n,
        Math.min(warmup, 2),
        (m) => writer.execute({ sql: "INSERT INTO log (m) VALUES (?)", args: [m] }),
        () => sleep(Math.random() * LIBSQL_POLL_MS),
      ),
    async close() {
      stop = true;
      await loop;
      writer.close();
      reader.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** authcache: B holds the context in L1, A revokes its jti, timed until B's follower handed
 *  the entry to B's cache; B then checks the token is refused (counted, not timed). */
async function authcacheSession(ctx: Context, kind: BackendKind): Promise<Session | string> {
  const fleet = await openFleet(ctx, kind, { prefix: "bench-prop:" });
  if (!fleet.ok) return fleet.reason;
  const waiters = new Waiters();
  const a = await fleet.value.newCache();
  const bCache = await fleet.value.newCache({}, (m) => {
    if (m.type === "revoke" && m.jti) waiters.signal(m.jti);
  });
  await sleep(300); // both followers subscribed and confirmed once
  let next = 0;
  return {
    async run(n, warmup) {
      const lat: number[] = [];
      const send: number[] = [];
      let lost = 0;
      let refused = 0;
      for (let i = -warmup; i < n; i++) {
        const k = next++;
        const jti = `prop-${kind}-${k}`;
        const email = `prop${k}@example.com`;
        await bCache.setAuthContext(email, jti, sampleContext(k));
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
      return { latUs: lat, lost, refused, sendUs: send };
    },
    close: () => fleet.value.close(),
  };
}

/** bentocache's bus over the same Redis: A.delete() until B's bus received it. */
async function bentoSession(redis: RedisTarget): Promise<Session> {
  const a = bentoTwoTier(redis, { serializeL1: true, prefix: "bench-prop-bento", bus: true });
  const bb = bentoTwoTier(redis, { serializeL1: true, prefix: "bench-prop-bento", bus: true });
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
  let next = 0;
  return {
    async run(n, warmup) {
      const lat: number[] = [];
      let lost = 0;
      for (let i = -warmup; i < n; i++) {
        const key = `k${next++}`;
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
        if (i < 0) continue;
        if (at === undefined) lost++;
        else lat.push((at - t0) * 1000);
      }
      return { latUs: lat, lost };
    },
    async close() {
      await a.close();
      await bb.close();
    },
  };
}
