/**
 * `/metrics` on prom-client: request and authentication counters recorded as they happen, and
 * the database counters, revocation-sync figures and the cache's own `stats()` collected when
 * scraped. One registry per gateway (no global state), Prometheus text format.
 */
import { Counter, Gauge, Registry } from "prom-client";

export type AuthOutcome =
  | "ok"
  | "missing_token"
  | "invalid_token"
  | "revoked"
  | "disabled"
  | "unknown_user"
  | "forbidden_team"
  | "backend_error";

export interface MetricsSources {
  readonly cacheStats: object;
  readonly queryCounts: Readonly<Record<string, number>>;
  readonly clientRoundTrips: number;
  readonly revocationSync?: Readonly<Record<string, number>>;
}

export interface Metrics {
  readonly registry: Registry;
  readonly contentType: string;
  recordRequest(method: string, route: string, status: number): void;
  recordAuth(outcome: AuthOutcome): void;
  /** The exposition text, with the scrape-time sources read now. */
  render(sources: MetricsSources): Promise<string>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const requests = new Counter({
    name: "gateway_http_requests_total",
    help: "HTTP requests by method, route and status.",
    labelNames: ["method", "route", "status"] as const,
    registers: [registry],
  });
  const auth = new Counter({
    name: "gateway_auth_total",
    help: "Authentication attempts by outcome.",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  // Totals kept elsewhere (data access, libSQL client, revocation sync): counters whose value
  // is copied in at scrape time.
  const queries = new Counter({
    name: "gateway_db_queries_total",
    help: "Database round trips by kind of query.",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const roundTrips = new Counter({
    name: "gateway_db_round_trips_total",
    help: "Calls that reached the libSQL client (all kinds, migrations excluded).",
    registers: [registry],
  });
  // Families named after the keys of stats objects, created on first sight.
  const dynamic = new Map<string, Gauge<"value">>();
  const gauge = (name: string, help: string, labelled = false): Gauge<"value"> => {
    let g = dynamic.get(name);
    if (!g) {
      g = new Gauge({ name, help, labelNames: labelled ? ["value"] : [], registers: [registry] });
      dynamic.set(name, g);
    }
    return g;
  };
  const counters = new Map<string, Counter>();
  const setCounter = (name: string, help: string, value: number) => {
    let c = counters.get(name);
    if (!c) {
      c = new Counter({ name, help, registers: [registry] });
      counters.set(name, c);
    }
    c.reset();
    c.inc(value);
  };

  // Per-request counts are plain numbers, copied into their counters at scrape time: a
  // prom-client `inc` with labels hashes the label object on every call, a cost the hot path
  // (every request records two) does not need to pay.
  const requestCounts = new Map<
    string,
    { method: string; route: string; status: string; n: number }
  >();
  const authCounts = new Map<AuthOutcome, number>();

  return {
    registry,
    contentType: registry.contentType,
    recordRequest(method, route, status) {
      const key = `${method} ${status} ${route}`;
      const entry = requestCounts.get(key);
      if (entry) entry.n += 1;
      else requestCounts.set(key, { method, route, status: String(status), n: 1 });
    },
    recordAuth(outcome) {
      authCounts.set(outcome, (authCounts.get(outcome) ?? 0) + 1);
    },
    async render(sources) {
      requests.reset();
      for (const { method, route, status, n } of requestCounts.values()) {
        requests.inc({ method, route, status }, n);
      }
      auth.reset();
      for (const [outcome, n] of authCounts) auth.inc({ outcome }, n);
      queries.reset();
      for (const [kind, n] of Object.entries(sources.queryCounts)) queries.inc({ kind }, n);
      roundTrips.reset();
      roundTrips.inc(sources.clientRoundTrips);
      for (const [name, n] of Object.entries(sources.revocationSync ?? {})) {
        const metric = `gateway_revocation_sync_${snake(name)}`;
        if (name === "cursor")
          gauge(metric, "Revocation sync: last change-log seq applied.").set(n);
        else setCounter(metric, `Revocation sync: ${name}.`, n);
      }
      for (const [name, value] of Object.entries(sources.cacheStats)) {
        const metric = `authcache_${snake(name)}`;
        if (typeof value === "number" && Number.isFinite(value)) {
          gauge(metric, `AuthCache stats().${name}.`).set(value);
        } else if (typeof value === "boolean") {
          gauge(metric, `AuthCache stats().${name} (1 = true).`).set(value ? 1 : 0);
        } else if (typeof value === "string") {
          const g = gauge(`${metric}_info`, `AuthCache stats().${name}, as a label.`, true);
          g.reset();
          g.set({ value }, 1);
        }
      }
      return registry.metrics();
    },
  };
}

function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^a-zA-Z0-9_]/g, "_")
    .toLowerCase();
}
