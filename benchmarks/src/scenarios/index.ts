import type { Scenario } from "../lib/types.ts";
import { coldMiss } from "./cold-miss.ts";
import { gateway } from "./gateway.ts";
import { hitRatio } from "./hit-ratio.ts";
import { invalidation } from "./invalidation.ts";
import { l1Hit } from "./l1-hit.ts";
import { l2Hit } from "./l2-hit.ts";
import { propagation } from "./propagation.ts";

/** Every scenario, in the order `make bench` runs them (cheap and CPU-only first). */
export const scenarios: readonly Scenario[] = [
  l1Hit,
  hitRatio,
  l2Hit,
  coldMiss,
  propagation,
  gateway,
  invalidation,
];
