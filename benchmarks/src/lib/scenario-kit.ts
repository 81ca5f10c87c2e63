import type { Context, Row, ScenarioResult } from "./types.ts";

/** Picks the figure for this run's size. */
export function sized<T>(ctx: Context, smoke: T, full: T): T {
  return ctx.size === "smoke" ? smoke : full;
}

/** Collects one scenario's rows, notes and gaps, and stamps its duration. */
export class ResultBuilder {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly missing: string[] = [];
  readonly #t0 = performance.now();

  constructor(
    private readonly head: Omit<
      ScenarioResult,
      "rows" | "notes" | "missing" | "durationMs" | "columns"
    > & { columns?: readonly string[] },
  ) {}

  add(row: Row): Row {
    this.rows.push(row);
    return row;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  miss(text: string): void {
    if (!this.missing.includes(text)) this.missing.push(text);
  }

  done(): ScenarioResult {
    return {
      ...this.head,
      columns: this.head.columns ?? [],
      rows: this.rows,
      notes: this.notes,
      missing: this.missing,
      durationMs: performance.now() - this.#t0,
    };
  }
}

/** value / base, or undefined when the base is unusable. */
export function ratio(value: number, base: number | undefined): number | undefined {
  return base !== undefined && Number.isFinite(base) && base > 0 ? value / base : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
