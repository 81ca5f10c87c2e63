/**
 * One MCP session's server: the official SDK's low-level `Server`, with handlers that read the
 * caller from the request's `authInfo` — set by the HTTP layer from the bearer middleware, which
 * resolved the caller's teams through the cache for THIS request — and list or run only what the
 * caller's teams may use. Nothing about the caller is kept in the session.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  type LoggingLevel,
  LoggingLevelSchema,
  McpError,
  ReadResourceRequestSchema,
  type ServerNotification,
  type ServerRequest,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { Caller } from "../auth.ts";
import {
  type CallContext,
  type McpCatalogue,
  matchTemplate,
  type TeamOwned,
  usableBy,
  visible,
} from "./catalogue.ts";

export const SERVER_INFO = { name: "authcache-demo-gateway", version: "0.2.0" } as const;

/** JSON-RPC code for "resource not found" (MCP spec). */
const RESOURCE_NOT_FOUND = -32002;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The caller the HTTP layer attached to this request. */
export function callerOf(extra: Pick<Extra, "authInfo">): Caller {
  const caller = extra.authInfo?.extra?.caller as Caller | undefined;
  if (!caller) throw new McpError(ErrorCode.InvalidRequest, "Request is not authenticated");
  return caller;
}

/** Refuses an item the caller's teams may not use (the HTTP layer answers 403 before this). */
function guard(item: TeamOwned, caller: Caller, what: string): void {
  if (!usableBy(item, caller.teams)) {
    throw new McpError(
      ErrorCode.InvalidRequest,
      `Forbidden: ${what} belongs to team ${item.teams.join(" or ")}`,
    );
  }
}

const SEVERITY: readonly LoggingLevel[] = LoggingLevelSchema.options;

function context(extra: Extra, caller: Caller, minLevel: () => LoggingLevel): CallContext {
  const token = extra._meta?.progressToken;
  return {
    log: async (level, data, logger) => {
      if (SEVERITY.indexOf(level) < SEVERITY.indexOf(minLevel())) return;
      await extra.sendNotification({
        method: "notifications/message",
        params: { level, data, ...(logger ? { logger } : {}) },
      });
    },
    caller,
    signal: extra.signal,
    sessionId: extra.sessionId,
    progressToken: typeof token === "string" || typeof token === "number" ? token : undefined,
    sendNotification: (n) => extra.sendNotification(n),
    sendRequest: (request, schema) => extra.sendRequest(request, schema as never) as never,
    closeSSEStream: () => extra.closeSSEStream?.(),
  };
}

export interface SessionServer {
  readonly server: Server;
  /** Resource URIs this session subscribed to. */
  readonly subscriptions: ReadonlySet<string>;
}

/** Builds the server of one session. */
export function createSessionServer(catalogue: McpCatalogue): SessionServer {
  const subscriptions = new Set<string>();
  const server = new Server(SERVER_INFO, {
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      // The SDK's Server answers logging/setLevel itself and filters messages by it.
      logging: {},
      completions: {},
    },
    instructions:
      "authcache demo gateway: tools, resources and prompts belong to teams; you see those of your token's teams.",
  });

  // One server per session, so one level: kept here (the SDK's own handler keys it by session
  // id) so that tools' messages are filtered by it too.
  let level: LoggingLevel = "debug";
  const minLevel = () => level;
  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    level = request.params.level;
    return {};
  });

  server.setRequestHandler(ListToolsRequestSchema, (_request, extra) => ({
    tools: visible(catalogue.tools, callerOf(extra).teams).map((t) => ({
      name: t.name,
      ...(t.title ? { title: t.title } : {}),
      description: t.description,
      inputSchema: t.inputSchema,
    })),
  }));

  server.setRequestHandler(
    CallToolRequestSchema,
    async (request, extra): Promise<CallToolResult> => {
      const caller = callerOf(extra);
      const { name, arguments: rawArgs = {} } = request.params;
      const tool = catalogue.tools.find((t) => t.name === name);
      if (!tool) throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`);
      guard(tool, caller, `tool ${name}`);
      let args: Record<string, unknown> = rawArgs;
      if (tool.args) {
        const parsed = tool.args.safeParse(rawArgs);
        if (!parsed.success) {
          const issues = parsed.error.issues
            .map((i) => `${i.path.join(".") || "(arguments)"}: ${i.message}`)
            .join("; ");
          throw new McpError(
            ErrorCode.InvalidParams,
            `Invalid arguments for tool ${name}: ${issues}`,
          );
        }
        args = parsed.data as Record<string, unknown>;
      }
      try {
        return await tool.run(args, context(extra, caller, minLevel));
      } catch (error) {
        if (error instanceof McpError) throw error;
        // A tool's own failure is a result the model can read, not a protocol error (MCP spec).
        return {
          isError: true,
          content: [{ type: "text", text: error instanceof Error ? error.message : String(error) }],
        };
      }
    },
  );

  server.setRequestHandler(ListResourcesRequestSchema, (_request, extra) => ({
    resources: visible(catalogue.resources, callerOf(extra).teams).map((r) => ({
      uri: r.uri,
      name: r.name,
      ...(r.title ? { title: r.title } : {}),
      ...(r.description ? { description: r.description } : {}),
      ...(r.mimeType ? { mimeType: r.mimeType } : {}),
    })),
  }));

  server.setRequestHandler(ListResourceTemplatesRequestSchema, (_request, extra) => ({
    resourceTemplates: visible(catalogue.resourceTemplates, callerOf(extra).teams).map((t) => ({
      uriTemplate: t.uriTemplate,
      name: t.name,
      ...(t.title ? { title: t.title } : {}),
      ...(t.description ? { description: t.description } : {}),
      ...(t.mimeType ? { mimeType: t.mimeType } : {}),
    })),
  }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const caller = callerOf(extra);
    const { uri } = request.params;
    const resource = catalogue.resources.find((r) => r.uri === uri);
    if (resource) {
      guard(resource, caller, `resource ${uri}`);
      return resource.read(uri, context(extra, caller, minLevel));
    }
    for (const template of catalogue.resourceTemplates) {
      const variables = matchTemplate(template.uriTemplate, uri);
      if (variables) {
        guard(template, caller, `resource ${uri}`);
        return template.read(uri, variables, context(extra, caller, minLevel));
      }
    }
    throw new McpError(RESOURCE_NOT_FOUND, `Resource ${uri} not found`, { uri });
  });

  const subscribable = (uri: string, extra: Extra) => {
    const resource = catalogue.resources.find((r) => r.uri === uri);
    if (!resource) throw new McpError(RESOURCE_NOT_FOUND, `Resource ${uri} not found`, { uri });
    guard(resource, callerOf(extra), `resource ${uri}`);
  };
  server.setRequestHandler(SubscribeRequestSchema, (request, extra) => {
    subscribable(request.params.uri, extra);
    subscriptions.add(request.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, (request, extra) => {
    subscribable(request.params.uri, extra);
    subscriptions.delete(request.params.uri);
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, (_request, extra) => ({
    prompts: visible(catalogue.prompts, callerOf(extra).teams).map((p) => ({
      name: p.name,
      ...(p.title ? { title: p.title } : {}),
      description: p.description,
      ...(p.arguments
        ? {
            arguments: p.arguments.map((a) => ({
              name: a.name,
              ...(a.description ? { description: a.description } : {}),
              ...(a.required ? { required: true } : {}),
            })),
          }
        : {}),
    })),
  }));

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const caller = callerOf(extra);
    const { name, arguments: args = {} } = request.params;
    const prompt = catalogue.prompts.find((p) => p.name === name);
    if (!prompt) throw new McpError(ErrorCode.InvalidParams, `Prompt ${name} not found`);
    guard(prompt, caller, `prompt ${name}`);
    for (const a of prompt.arguments ?? []) {
      if (a.required && (args[a.name] === undefined || args[a.name] === "")) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Prompt ${name}: argument "${a.name}" is required`,
        );
      }
    }
    return prompt.get(args, context(extra, caller, minLevel));
  });

  server.setRequestHandler(CompleteRequestSchema, (request, extra) => {
    const caller = callerOf(extra);
    const { ref, argument } = request.params;
    let values: readonly string[] = [];
    if (ref.type === "ref/prompt") {
      const prompt = catalogue.prompts.find((p) => p.name === ref.name);
      if (!prompt) throw new McpError(ErrorCode.InvalidParams, `Prompt ${ref.name} not found`);
      guard(prompt, caller, `prompt ${ref.name}`);
      const arg = prompt.arguments?.find((a) => a.name === argument.name);
      values = arg?.complete?.(argument.value) ?? [];
    } else {
      const template = catalogue.resourceTemplates.find((t) => t.uriTemplate === ref.uri);
      if (!template)
        throw new McpError(RESOURCE_NOT_FOUND, `Resource template ${ref.uri} not found`);
      guard(template, caller, `resource template ${ref.uri}`);
    }
    const shown = values.slice(0, 100);
    return {
      completion: {
        values: [...shown],
        total: values.length,
        hasMore: values.length > shown.length,
      },
    };
  });

  return { server, subscriptions };
}
