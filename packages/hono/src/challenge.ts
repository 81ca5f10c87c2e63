/**
 * RFC 6750 §3 `WWW-Authenticate: Bearer` challenges, with the RFC 9728 `resource_metadata`
 * parameter that tells an OAuth-capable client where to discover the authorization server.
 */

/** RFC 6750 §3.1 error codes. */
export type BearerErrorCode = "invalid_request" | "invalid_token" | "insufficient_scope";

export interface ChallengeParams {
  readonly realm?: string | undefined;
  /** Absent when the request carried no credentials at all (RFC 6750 §3.1). */
  readonly error?: BearerErrorCode | undefined;
  readonly errorDescription?: string | undefined;
  /** Space-separated scopes the resource needs (with `insufficient_scope`). */
  readonly scope?: string | undefined;
  /** Absolute URL of the protected resource metadata document (RFC 9728 §5.1). */
  readonly resourceMetadata?: string | undefined;
}

/** Builds the header value, e.g. `Bearer realm="api", error="invalid_token", resource_metadata="…"`. */
export function bearerChallenge(params: ChallengeParams): string {
  const parts: string[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== "") parts.push(`${name}="${quotable(value)}"`);
  };
  add("realm", params.realm);
  add("error", params.error);
  add("error_description", params.errorDescription);
  add("scope", params.scope);
  add("resource_metadata", params.resourceMetadata);
  return parts.length === 0 ? "Bearer" : `Bearer ${parts.join(", ")}`;
}

/** RFC 6750 allows %x20-21 / %x23-5B / %x5D-7E inside the quotes: no `"`, no `\`, no controls. */
function quotable(value: string): string {
  return value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "?");
}
