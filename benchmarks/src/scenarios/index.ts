import type { Scenario } from "../lib/types.ts";
import { l1Hit } from "./l1-hit.ts";

/** Every scenario, in the order `make bench` runs them (cheap and CPU-only first). */
export const scenarios: readonly Scenario[] = [l1Hit];
