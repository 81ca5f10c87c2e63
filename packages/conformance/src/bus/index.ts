import { confirmTests } from "./confirm.ts";
import { datingTests } from "./dating.ts";
import { deliveryTests } from "./delivery.ts";
import { epochTests } from "./epoch.ts";
import { gapTests } from "./gaps.ts";
import { lifecycleTests } from "./lifecycle.ts";
import { malformedTests } from "./malformed.ts";
import { orderTests } from "./order.ts";
import { orderedTests } from "./ordered.ts";
import { pauseTests } from "./pause.ts";
import { reconnectTests } from "./reconnect.ts";
import { stateTests } from "./state.ts";
import { trimTests } from "./trim.ts";
import { unsubscribeTests } from "./unsubscribe.ts";

/** Every bus test, in registration order. */
export const busSuite = [
  ...deliveryTests,
  ...orderTests,
  ...confirmTests,
  ...stateTests,
  ...unsubscribeTests,
  ...malformedTests,
  ...pauseTests,
  ...trimTests,
  ...gapTests,
  ...epochTests,
  ...datingTests,
  ...reconnectTests,
  ...lifecycleTests,
  ...orderedTests,
] as const;

/** The name of a bus test, as `skip` keys it. */
export type BusTestName = (typeof busSuite)[number]["name"];
