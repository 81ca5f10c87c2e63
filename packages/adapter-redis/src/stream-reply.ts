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
