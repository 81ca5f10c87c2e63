/**
 * What the reference design did to invalidate one user: walk the whole keyspace with
 * `SCAN cursor MATCH mcpgw:auth:ctx:<email>:* COUNT 10` and send one awaited DEL per match.
 * Its cost grows with every key on the server, related or not.
 */
import type { Redis } from "ioredis";

export const REFERENCE_PREFIX = "mcpgw:auth:ctx:";

/** Writes `n` unrelated keys (`SET k v`) in pipelines of 10 000, as the peer baselines did. */
export async function fillUnrelated(
  client: Redis,
  n: number,
  from = 0,
  log?: (m: string) => void,
): Promise<void> {
  const chunk = 10_000;
  for (let start = from; start < from + n; start += chunk) {
    const p = client.pipeline();
    const end = Math.min(from + n, start + chunk);
    for (let i = start; i < end; i++) p.set(`unrelated:${i}`, "v");
    await p.exec();
    if (log && (end - from) % 200_000 === 0)
      log(`    ${(end - from).toLocaleString("en-US")} keys written`);
  }
}

/** The reference user's five context keys (re-added, untimed, before each repetition). */
export async function addUserKeys(client: Redis, email: string, count = 5): Promise<void> {
  const p = client.pipeline();
  for (let j = 0; j < count; j++) p.set(`${REFERENCE_PREFIX}${email}:jti-${j}`, '{"ctx":1}');
  await p.exec();
}

export interface ScanRun {
  readonly ms: number;
  readonly scanCalls: number;
  readonly deleted: number;
}

/** One invalidation the reference way; returns its wall time and round trips. */
export async function scanInvalidate(client: Redis, email: string): Promise<ScanRun> {
  const t0 = performance.now();
  let cursor = "0";
  let scanCalls = 0;
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(
      cursor,
      "MATCH",
      `${REFERENCE_PREFIX}${email}:*`,
      "COUNT",
      10,
    );
    scanCalls++;
    cursor = next;
    for (const k of keys) deleted += await client.del(k);
  } while (cursor !== "0");
  return { ms: performance.now() - t0, scanCalls, deleted };
}
