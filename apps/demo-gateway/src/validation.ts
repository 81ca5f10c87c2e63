/**
 * Request-body checks that answer 400 with the name of the offending field.
 */
import type { Context } from "hono";

/** A client error; `field` names the body field at fault when there is one. */
export class BadRequest extends Error {
  override readonly name = "BadRequest";
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export type Body = Readonly<Record<string, unknown>>;

/** Parses a JSON object body. An empty body reads as `{}` when `optional` is set. */
export async function readJsonObject(c: Context, optional = false): Promise<Body> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (optional) return {};
    throw new BadRequest("Request body must be a JSON object");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequest("Request body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new BadRequest("Request body must be a JSON object");
  }
  return parsed as Body;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function requiredEmail(body: Body, field: string): string {
  const v = body[field];
  if (v === undefined || v === null || v === "") {
    throw new BadRequest(`"${field}" is required`, field);
  }
  if (typeof v !== "string" || v.length > 320 || !EMAIL.test(v)) {
    throw new BadRequest(`"${field}" must be an e-mail address`, field);
  }
  return v;
}

export function optionalString(body: Body, field: string, maxLength: number): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length === 0 || v.length > maxLength) {
    throw new BadRequest(`"${field}" must be a string of 1 to ${maxLength} characters`, field);
  }
  return v;
}

export function optionalInt(body: Body, field: string, min: number, max: number) {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new BadRequest(`"${field}" must be a whole number from ${min} to ${max}`, field);
  }
  return v;
}

export function optionalStringArray(body: Body, field: string, maxItems: number) {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    v.length > maxItems ||
    !v.every((x) => typeof x === "string" && x.length > 0 && x.length <= 200)
  ) {
    throw new BadRequest(
      `"${field}" must be a non-empty array of at most ${maxItems} non-empty strings`,
      field,
    );
  }
  return v as string[];
}

export function requiredOneOf<T extends string>(body: Body, field: string, allowed: readonly T[]) {
  const v = body[field];
  if (v === undefined || v === null || v === "") {
    throw new BadRequest(`"${field}" is required (one of ${allowed.join(", ")})`, field);
  }
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new BadRequest(`"${field}" must be one of ${allowed.join(", ")}`, field);
  }
  return v as T;
}
