/**
 * Request, authentication and database counters, rendered with the cache's own stats in the
 * Prometheus text exposition format (version 0.0.4).
 */

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
  recordRequest(method: string, route: string, status: number): void;
  recordAuth(outcome: AuthOutcome): void;
  render(sources: MetricsSources): string;
}

export function createMetrics(): Metrics {
  const requests = new Map<string, number>();
  const auth = new Map<AuthOutcome, number>();

  return {
    recordRequest(method, route, status) {
      const key = `${method}\u0000${route}\u0000${status}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
    },
    recordAuth(outcome) {
      auth.set(outcome, (auth.get(outcome) ?? 0) + 1);
    },
    render(sources) {
      const out: string[] = [];
      const family = (name: string, type: "counter" | "gauge", help: string) => {
        out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      };

      family(
        "gateway_http_requests_total",
        "counter",
        "HTTP requests by method, route and status.",
      );
      for (const [key, n] of [...requests].sort()) {
        const [method = "", route = "", status = ""] = key.split("\u0000");
        out.push(
          `gateway_http_requests_total{method="${esc(method)}",route="${esc(route)}",status="${status}"} ${n}`,
        );
      }

      family("gateway_auth_total", "counter", "Authentication attempts by outcome.");
      for (const [outcome, n] of [...auth].sort()) {
        out.push(`gateway_auth_total{outcome="${outcome}"} ${n}`);
      }

      family("gateway_db_queries_total", "counter", "Database round trips by kind of query.");
      for (const [kind, n] of Object.entries(sources.queryCounts).sort()) {
        out.push(`gateway_db_queries_total{kind="${esc(kind)}"} ${n}`);
      }
      family(
        "gateway_db_round_trips_total",
        "counter",
        "Calls that reached the libSQL client (all kinds, migrations excluded).",
      );
      out.push(`gateway_db_round_trips_total ${sources.clientRoundTrips}`);

      if (sources.revocationSync) {
        for (const [name, n] of Object.entries(sources.revocationSync)) {
          const metric = `gateway_revocation_sync_${snake(name)}`;
          family(metric, name === "cursor" ? "gauge" : "counter", `Revocation sync: ${name}.`);
          out.push(`${metric} ${n}`);
        }
      }

      for (const [name, value] of Object.entries(sources.cacheStats).sort(([a], [b]) =>
        a.localeCompare(b),
      )) {
        const metric = `authcache_${snake(name)}`;
        if (typeof value === "number" && Number.isFinite(value)) {
          family(metric, "gauge", `AuthCache stats().${name}.`);
          out.push(`${metric} ${value}`);
        } else if (typeof value === "boolean") {
          family(metric, "gauge", `AuthCache stats().${name} (1 = true).`);
          out.push(`${metric} ${value ? 1 : 0}`);
        } else if (typeof value === "string") {
          family(`${metric}_info`, "gauge", `AuthCache stats().${name}, as a label.`);
          out.push(`${metric}_info{value="${esc(value)}"} 1`);
        }
      }
      return `${out.join("\n")}\n`;
    },
  };
}

function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^a-zA-Z0-9_]/g, "_")
    .toLowerCase();
}

function esc(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
