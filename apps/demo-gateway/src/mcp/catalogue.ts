/**
 * What the MCP endpoint serves: tools, resources, resource templates and prompts, each owned by
 * teams. An item is listed and usable only by a caller whose current teams (resolved through the
 * cache on that very request) meet its `teams`; an empty list means every authenticated caller.
 * The catalogue is configuration, not data: listing costs no database query.
 */
import type {
  CallToolResult,
  GetPromptResult,
  LoggingLevel,
  ReadResourceResult,
  ServerNotification,
  ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { Caller } from "../auth.ts";

/** What a handler gets besides its arguments. */
export interface CallContext {
  readonly caller: Caller;
  readonly signal: AbortSignal;
  readonly sessionId: string | undefined;
  /** `_meta.progressToken` of the request, when the client asked for progress. */
  readonly progressToken: string | number | undefined;
  sendNotification(notification: ServerNotification): Promise<void>;
  /** A `notifications/message` on the current request's stream, unless below the session's
   *  `logging/setLevel` level. */
  log(level: LoggingLevel, data: unknown, logger?: string): Promise<void>;
  /** A request to the client (sampling, elicitation) on the stream of the current request. */
  sendRequest<S extends z.ZodType>(request: ServerRequest, schema: S): Promise<z.infer<S>>;
  /** Ends the SSE stream of the current request; the client reconnects and resumes (SEP-1699). */
  closeSSEStream(): void;
}

export interface TeamOwned {
  /** Team ids allowed to use the item; empty = every authenticated caller. */
  readonly teams: readonly string[];
}

export interface ToolDefinition extends TeamOwned {
  readonly name: string;
  readonly title?: string;
  readonly description: string;
  /** JSON Schema of the arguments, as listed (kept verbatim: `$schema`, `$defs`, ...). */
  readonly inputSchema: { readonly type: "object"; readonly [key: string]: unknown };
  /** Validates the arguments before `run`; a failure is a JSON-RPC invalid-params error. */
  readonly args?: z.ZodType;
  run(args: Record<string, unknown>, ctx: CallContext): Promise<CallToolResult> | CallToolResult;
}

export interface ResourceDefinition extends TeamOwned {
  readonly uri: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mimeType?: string;
  read(uri: string, ctx: CallContext): Promise<ReadResourceResult> | ReadResourceResult;
}

export interface ResourceTemplateDefinition extends TeamOwned {
  /** RFC 6570 level-1 template, e.g. `test://template/{id}/data`. */
  readonly uriTemplate: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mimeType?: string;
  read(
    uri: string,
    variables: Readonly<Record<string, string>>,
    ctx: CallContext,
  ): Promise<ReadResourceResult> | ReadResourceResult;
}

export interface PromptArgument {
  readonly name: string;
  readonly description?: string;
  readonly required?: boolean;
  /** Completion candidates for `completion/complete`. */
  readonly complete?: (value: string) => readonly string[];
}

export interface PromptDefinition extends TeamOwned {
  readonly name: string;
  readonly title?: string;
  readonly description: string;
  readonly arguments?: readonly PromptArgument[];
  get(
    args: Readonly<Record<string, string>>,
    ctx: CallContext,
  ): Promise<GetPromptResult> | GetPromptResult;
}

export interface McpCatalogue {
  readonly tools: readonly ToolDefinition[];
  readonly resources: readonly ResourceDefinition[];
  readonly resourceTemplates: readonly ResourceTemplateDefinition[];
  readonly prompts: readonly PromptDefinition[];
}

/** True when `teams` (the caller's) meets the item's owners. */
export function usableBy(item: TeamOwned, teams: readonly string[]): boolean {
  return item.teams.length === 0 || item.teams.some((id) => teams.includes(id));
}

/** The items of a list the caller may see, in catalogue order. */
export function visible<T extends TeamOwned>(items: readonly T[], teams: readonly string[]): T[] {
  return items.filter((item) => usableBy(item, teams));
}

/** Matches `uri` against a level-1 URI template; returns its variables or undefined. */
export function matchTemplate(template: string, uri: string): Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (m?.[1]) {
        names.push(m[1]);
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  const match = new RegExp(`^${pattern}$`).exec(uri);
  if (!match) return undefined;
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    out[name] = decodeURIComponent(match[i + 1] ?? "");
  });
  return out;
}

/** Merges catalogues (the demo one and, behind a flag, the conformance fixtures). */
export function mergeCatalogues(...parts: readonly McpCatalogue[]): McpCatalogue {
  const merged: McpCatalogue = {
    tools: parts.flatMap((p) => p.tools),
    resources: parts.flatMap((p) => p.resources),
    resourceTemplates: parts.flatMap((p) => p.resourceTemplates),
    prompts: parts.flatMap((p) => p.prompts),
  };
  for (const [kind, keys] of [
    ["tool", merged.tools.map((t) => t.name)],
    ["resource", merged.resources.map((r) => r.uri)],
    ["prompt", merged.prompts.map((p) => p.name)],
  ] as const) {
    const dup = keys.find((k, i) => keys.indexOf(k) !== i);
    if (dup !== undefined) throw new Error(`MCP catalogue: ${kind} ${dup} is defined twice`);
  }
  return merged;
}
