/** One log entry as read from the stream: its id and the `m` field (undefined if missing). */
export interface StreamEntry {
  readonly id: string;
  readonly data: string | undefined;
}

function toEntry(raw: unknown): StreamEntry | undefined {
  if (!Array.isArray(raw) || raw.length < 2) return undefined;
  const id = raw[0];
  if (typeof id !== "string") return undefined;
  const fields = raw[1];
  let data: string | undefined;
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (String(fields[i]) === "m") {
        const v = fields[i + 1];
        data = typeof v === "string" ? v : v == null ? undefined : String(v);
        break;
      }
    }
  } else if (fields !== null && typeof fields === "object") {
    const v = (fields as Record<string, unknown>).m;
    data = typeof v === "string" ? v : undefined;
  }
  return { id, data };
}

/** Entries of an XRANGE / XREVRANGE reply. */
export function parseRange(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const item of raw) {
    const e = toEntry(item);
    if (e) out.push(e);
  }
  return out;
}

/** Entries of an XREAD reply for one stream: `null` (timed out) reads as no entries. Accepts
 *  the RESP2/legacy shape `[[key, entries]]` and the RESP3 map shape `{ key: entries }`. */
export function parseRead(raw: unknown): StreamEntry[] {
  if (raw === null || raw === undefined) return [];
  if (Array.isArray(raw)) {
    const first = raw[0];
    return Array.isArray(first) ? parseRange(first[1]) : [];
  }
  if (typeof raw === "object") {
    const values = Object.values(raw as Record<string, unknown>);
    return parseRange(values[0]);
  }
  return [];
}

/** What the follower needs from `XINFO STREAM`. */
export interface StreamInfo {
  /** Entries in the stream now. */
  readonly length: number;
  /** Entries ever appended (trimming does not lower it). */
  readonly entriesAdded: number;
  /** Id of the newest entry ever appended. */
  readonly lastGeneratedId: string;
  /** Id of the newest entry still present, if any. */
  readonly lastEntryId: string | undefined;
}

/** Reads an `XINFO STREAM` reply, flat `[field, value, ...]` or a map object. Returns
 *  undefined when the fields the follower relies on (Redis 7+) are missing. */
export function parseInfo(raw: unknown): StreamInfo | undefined {
  const fields = new Map<string, unknown>();
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) fields.set(String(raw[i]), raw[i + 1]);
  } else if (raw !== null && typeof raw === "object") {
    for (const [k, v] of Object.entries(raw)) fields.set(k, v);
  } else {
    return undefined;
  }
  const length = Number(fields.get("length"));
  const entriesAdded = Number(fields.get("entries-added"));
  const lastGeneratedId = fields.get("last-generated-id");
  if (!Number.isSafeInteger(length) || !Number.isSafeInteger(entriesAdded)) return undefined;
  if (typeof lastGeneratedId !== "string") return undefined;
  const lastEntry = fields.get("last-entry");
  const lastEntryId =
    Array.isArray(lastEntry) && typeof lastEntry[0] === "string" ? lastEntry[0] : undefined;
  return { length, entriesAdded, lastGeneratedId, lastEntryId };
}

/** True for the error Redis returns when `XINFO STREAM` names a missing key. */
export function isNoSuchKey(error: unknown): boolean {
  return error instanceof Error && /no such key/i.test(error.message);
}
