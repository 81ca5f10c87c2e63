/**
 * Request bodies: zod schemas checked by `@hono/zod-validator`, answering 400
 * `{ "error": "\"<field>\" <what is wrong>", "field": "<field>" }` for the first bad field.
 */
import { zValidator } from "@hono/zod-validator";
import { z } from "zod";

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

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** "is required" when absent, else `problem`. Absent = undefined or null (and "" for strings). */
const says = (problem: string) => (issue: { input?: unknown }) =>
  issue.input === undefined || issue.input === null ? "is required" : problem;

export const email = () =>
  z
    .string({ error: says("must be an e-mail address") })
    .min(1, { error: "is required" })
    .max(320, { error: "must be an e-mail address" })
    .regex(EMAIL, { error: "must be an e-mail address" });

const optionalString = (max: number) =>
  z
    .string({ error: `must be a string of 1 to ${max} characters` })
    .min(1, { error: `must be a string of 1 to ${max} characters` })
    .max(max, { error: `must be a string of 1 to ${max} characters` })
    .nullish();

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: says(`must be one of ${values.join(", ")}`) });

export const ROLES = ["owner", "member", "viewer"] as const;
const MAX_TOKEN_TTL_SECONDS = 365 * 24 * 3600;
const TEAMS = "must be a non-empty array of at most 50 non-empty strings";

export const mintTokenBody = z.object({
  email: email(),
  name: optionalString(100),
  ttlSeconds: z
    .number({ error: `must be a whole number from 60 to ${MAX_TOKEN_TTL_SECONDS}` })
    .int({ error: `must be a whole number from 60 to ${MAX_TOKEN_TTL_SECONDS}` })
    .min(60, { error: `must be a whole number from 60 to ${MAX_TOKEN_TTL_SECONDS}` })
    .max(MAX_TOKEN_TTL_SECONDS, {
      error: `must be a whole number from 60 to ${MAX_TOKEN_TTL_SECONDS}`,
    })
    .nullish(),
  teams: z
    .array(z.string({ error: TEAMS }).min(1, { error: TEAMS }).max(200, { error: TEAMS }), {
      error: TEAMS,
    })
    .min(1, { error: TEAMS })
    .max(50, { error: TEAMS })
    .nullish(),
});

export const revokeBody = z.object({ reason: optionalString(200) });

export const addMemberBody = z.object({ email: email(), role: oneOf(ROLES) });

export const changeRoleBody = z.object({ role: oneOf(ROLES) });

/** The JSON body validator: 400 naming the first bad field. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return zValidator("json", schema, (result) => {
    if (result.success) return;
    const issue = result.error.issues[0];
    const field = issue?.path[0];
    if (typeof field !== "string") {
      throw new BadRequest("Request body must be a JSON object");
    }
    throw new BadRequest(`"${field}" ${issue?.message ?? "is invalid"}`, field);
  });
}
