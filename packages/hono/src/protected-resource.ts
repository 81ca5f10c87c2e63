/**
 * RFC 9728 OAuth 2.0 Protected Resource Metadata: the document an OAuth-capable client fetches
 * (from `resource_metadata` in a 401, or from the well-known path) to learn which authorization
 * servers issue tokens for this resource.
 */
import type { Context, Handler } from "hono";

export interface ProtectedResourceMetadata {
  /** The resource identifier: the absolute URL clients use (RFC 9728 §2, `resource`). */
  readonly resource: string;
  /** Issuer identifiers of the authorization servers that mint tokens for it. */
  readonly authorization_servers?: readonly string[];
  readonly scopes_supported?: readonly string[];
  /** Default `["header"]`: tokens go in the Authorization header only. */
  readonly bearer_methods_supported?: readonly string[];
  readonly resource_signing_alg_values_supported?: readonly string[];
  readonly resource_name?: string;
  readonly resource_documentation?: string;
  readonly [extra: string]: unknown;
}

/**
 * The well-known path for a resource URL: `/.well-known/oauth-protected-resource` followed by
 * the resource's path (RFC 9728 §3.1), e.g. `https://h/mcp` → `/.well-known/oauth-protected-resource/mcp`.
 */
export function protectedResourceMetadataPath(resource: string): string {
  const path = new URL(resource).pathname.replace(/\/$/, "");
  return `/.well-known/oauth-protected-resource${path}`;
}

/** The absolute metadata URL for a resource URL (what `resource_metadata` should carry). */
export function protectedResourceMetadataUrl(resource: string): string {
  return new URL(protectedResourceMetadataPath(resource), resource).toString();
}

/** A handler serving the metadata document as JSON; `metadata` may depend on the request. */
export function protectedResourceMetadata(
  metadata: ProtectedResourceMetadata | ((c: Context) => ProtectedResourceMetadata),
): Handler {
  return (c) => {
    const doc = typeof metadata === "function" ? metadata(c) : metadata;
    return c.json({ bearer_methods_supported: ["header"], ...doc }, 200, {
      "Cache-Control": "public, max-age=300",
    });
  };
}
