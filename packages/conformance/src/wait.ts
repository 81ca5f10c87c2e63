/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, at most `attempts` times `stepMs` apart (a bounded
 *  loop, no wall-clock assertion). Throws `message` when it never held. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  message: string,
  { attempts = 400, stepMs = 10 }: { attempts?: number; stepMs?: number } = {},
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await sleep(stepMs);
  }
  if (await check()) return;
  throw new Error(`conformance: timed out waiting until ${message}`);
}
