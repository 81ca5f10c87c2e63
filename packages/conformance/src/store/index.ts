import { basicTests } from "./basic.ts";
import { batchTests } from "./batch.ts";
import { counterTests } from "./counters.ts";
import { expiryTests } from "./expiry.ts";
import { fenceTests } from "./fences.ts";
import { lifecycleTests } from "./lifecycle.ts";
import { memberTests } from "./members.ts";
import { ownerTests } from "./owners.ts";
import { payloadTests } from "./payloads.ts";
import { readTests } from "./read.ts";

/** Every store test, in registration order (quick topics first, expiry waits later). */
export const storeSuite = [
  ...basicTests,
  ...payloadTests,
  ...readTests,
  ...batchTests,
  ...ownerTests,
  ...fenceTests,
  ...counterTests,
  ...memberTests,
  ...expiryTests,
  ...lifecycleTests,
] as const;

/** The name of a store test, as `skip` keys it. */
export type StoreTestName = (typeof storeSuite)[number]["name"];
