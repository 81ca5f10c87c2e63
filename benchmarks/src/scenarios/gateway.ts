/**
 * The demo gateway under HTTP load on loopback (autocannon, bounded duration): authenticated
 * GET /auth/me with the cache warm (per backend), cold (cache disabled: every request runs the
 * batched DB load), and the unauthenticated /healthz as the ceiling; plus DB round trips per
 * request read from the gateway's own /metrics.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, type WorkerProcess } from "@authcache/test-servers";
import autocannon from "autocannon";
import { pinProcess } from "../lib/pinning.ts";
import { ResultBuilder, ratio, sized } from "../lib/scenario-kit.ts";
import type { Context, Row, Scenario } from "../lib/types.ts";

const CONNECTIONS = 32;

interface Child {
  readonly url: string;
  readonly tokens: string[];
  readonly worker: WorkerProcess;
}

/** The gateway in its own process (gateway/child.ts, the tests' stdio worker protocol): its
 *  ready payload is where it listens and a token per seeded user. */
async function startChild(ctx: Context, mode: string, env: Record<string, string>): Promise<Child> {
  const worker = await startWorker(
    [process.execPath, join(import.meta.dir, "..", "gateway", "child.ts"), mode],
    {
      label: `gateway child (${mode})`,
      env: { ...process.env, ...env },
      graceMs: 5_000,
      readyTimeoutMs: 30_000,
    },
  );
  const warn = pinProcess(worker.pid, ctx.pin);
  if (warn) ctx.log(`  warning: ${warn}`);
  const { url, tokens } = worker.ready as { url: string; tokens: string[] };
  return { url, tokens, worker };
}

/** Ends the child's stdin: it closes the gateway and exits (killed after 5 s). */
function stopChild(c: Child): Promise<void> {
  return c.worker.close();
}

async function dbRoundTrips(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^gateway_db_round_trips_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

interface Load {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  readonly bad: number;
  readonly dbPerRequest: number;
}

async function load(
  c: Child,
  path: string,
  auth: boolean,
  seconds: number,
  warmup: boolean,
): Promise<Load> {
  const opts = {
    url: c.url,
    connections: CONNECTIONS,
    // The authenticated rows rotate the tokens as prebuilt requests (autocannon cycles them per
    // connection): a setupRequest hook rebuilds and re-serializes every request in the load
    // generator, which shares the machine with the gateway and would be charged to the row.
    requests: auth
      ? c.tokens.map((t) => ({
          method: "GET",
          path,
          headers: { authorization: `Bearer ${t}` },
        }))
      : [{ method: "GET", path }],
  };
  if (warmup) await autocannon({ ...opts, duration: 1 }); // JIT, connections, cache fill
  const before = await dbRoundTrips(c.url);
  const r = await autocannon({ ...opts, duration: seconds });
  const after = await dbRoundTrips(c.url);
  const total = r.requests.total;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total,
    bad: r.non2xx + r.errors + r.timeouts,
    dbPerRequest: total > 0 ? (after - before - 0) / total : Number.NaN,
  };
}

export const gateway: Scenario = {
  id: "gateway",
  title: "Gateway under HTTP load",
  async run(ctx: Context) {
    const seconds = sized(ctx, 1, 5);
    const full = ctx.size === "full";
    const b = new ResultBuilder({
      id: "gateway",
      title: "Gateway under HTTP load",
      metric: "requests/s",
      better: "higher",
      baseline: "unauthenticated GET /healthz on the same gateway",
      columns: [
        "route",
        "p50 ms",
        "p99 ms",
        "requests",
        "non-2xx/errors",
        "DB round trips/request",
      ],
    });
    b.note(
      `autocannon in the benchmark process, ${CONNECTIONS} connections, ${seconds} s per row after a 1 s warm-up, loopback; the gateway (Bun.serve + Hono, libSQL file database, seeded) runs in a child process pinned like a server. Authenticated rows rotate 4 session tokens of seeded users (4 prebuilt requests, cycled by autocannon per connection). DB round trips are the gateway's own gateway_db_round_trips_total delta ÷ requests (its revocation poller adds about 2 per second whatever the load). autocannon reports latency in whole ms.`,
    );
    const loads: [string, string, Row["subject"], string, Load][] = [];
    const row = (
      name: string,
      backend: string,
      subject: Row["subject"],
      path: string,
      l: Load,
    ): void => {
      loads.push([name, backend, subject, path, l]);
      ctx.log(
        `  ${name} [${backend}]: ${l.rps.toFixed(0)} req/s, ${l.dbPerRequest.toFixed(3)} DB round trips/request, ${l.bad} bad`,
      );
    };

    let c = await startChild(ctx, "warm", { AUTH_CACHE_STORE: "memory" });
    try {
      row(
        "GET /healthz (no auth)",
        "-",
        "baseline",
        "/healthz",
        await load(c, "/healthz", false, seconds, full),
      );
      row(
        "authenticated, cache warm (L1 only)",
        "memory",
        "authcache",
        "/auth/me",
        await load(c, "/auth/me", true, seconds, full),
      );
    } finally {
      await stopChild(c);
    }
    c = await startChild(ctx, "cold", {});
    try {
      row(
        "authenticated, cache disabled (cold)",
        "-",
        "baseline",
        "/auth/me",
        await load(c, "/auth/me", true, seconds, full),
      );
    } finally {
      await stopChild(c);
    }
    // Smoke runs stop here: the L2 configurations are the demo-gateway's own tests' business.
    for (const kind of full ? (["redis", "valkey", "libsql"] as const) : []) {
      const env: Record<string, string> = { AUTH_CACHE_STORE: kind };
      if (kind === "libsql")
        env.LIBSQL_CACHE_URL = `file:${join(tmpdir(), `authcache-bench-gw-cache-${process.pid}.db`)}`;
      else {
        await ctx.flush(kind);
        env[kind === "redis" ? "REDIS_URL" : "VALKEY_URL"] = (await ctx.server(kind)).url;
      }
      c = await startChild(ctx, "warm", env);
      try {
        row(
          `authenticated, cache warm (${kind} L2 + bus)`,
          kind,
          "authcache",
          "/auth/me",
          await load(c, "/auth/me", true, seconds, full),
        );
      } finally {
        await stopChild(c);
        for (const suffix of ["", "-wal", "-shm"])
          rmSync(`${env.LIBSQL_CACHE_URL?.slice(5)}${suffix}`, { force: true });
      }
    }
    const base = loads[0]?.[4].rps;
    const cold = loads.find((x) => x[0].includes("cold"))?.[4].rps;
    for (const [name, backend, subject, path, l] of loads) {
      b.add({
        case: name,
        backend,
        subject,
        group: "gateway",
        value: l.rps,
        ratio: ratio(l.rps, base),
        cols: {
          route: path,
          "vs cold": path === "/auth/me" ? (ratio(l.rps, cold) ?? "-") : "-",
          "p50 ms": l.p50,
          "p99 ms": l.p99,
          requests: l.total,
          "non-2xx/errors": l.bad,
          "DB round trips/request": l.dbPerRequest,
        },
      });
    }
    return b.done();
  },
};
