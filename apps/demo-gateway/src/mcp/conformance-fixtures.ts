/**
 * The fixtures the MCP conformance suite's server scenarios call (`test_simple_text`,
 * `test://` resources, `test_*` prompts, ...), as the SDKs' example "everything" servers serve
 * them. Served only with MCP_CONFORMANCE_FIXTURES=true, and owned by the teams given (by default
 * team-platform): the suite runs through the same per-team authorization as the demo tools.
 */
import { ElicitResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { CallContext, McpCatalogue } from "./catalogue.ts";

/** 1x1 red PNG. */
const IMAGE =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/** A minimal WAV file. */
const AUDIO = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

const NO_ARGS = { type: "object" as const, properties: {} };
const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const log = (ctx: CallContext, data: string) => ctx.log("info", data);

async function elicit(ctx: CallContext, message: string, requestedSchema: object) {
  try {
    const result = await ctx.sendRequest(
      { method: "elicitation/create", params: { message, requestedSchema } } as never,
      ElicitResultSchema,
    );
    return text(
      `Elicitation completed: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`,
    );
  } catch (error) {
    return text(`Elicitation not supported or error: ${(error as Error).message}`);
  }
}

export function createConformanceFixtures(teams: readonly string[]): McpCatalogue {
  const owned = { teams };
  return {
    tools: [
      {
        ...owned,
        name: "test_simple_text",
        description: "Tests simple text content response",
        inputSchema: NO_ARGS,
        run: () => text("This is a simple text response for testing."),
      },
      {
        ...owned,
        name: "test_image_content",
        description: "Tests image content response",
        inputSchema: NO_ARGS,
        run: () => ({ content: [{ type: "image", data: IMAGE, mimeType: "image/png" }] }),
      },
      {
        ...owned,
        name: "test_audio_content",
        description: "Tests audio content response",
        inputSchema: NO_ARGS,
        run: () => ({ content: [{ type: "audio", data: AUDIO, mimeType: "audio/wav" }] }),
      },
      {
        ...owned,
        name: "test_embedded_resource",
        description: "Tests embedded resource content response",
        inputSchema: NO_ARGS,
        run: () => ({
          content: [
            {
              type: "resource",
              resource: {
                uri: "test://embedded-resource",
                mimeType: "text/plain",
                text: "This is an embedded resource content.",
              },
            },
          ],
        }),
      },
      {
        ...owned,
        name: "test_multiple_content_types",
        description: "Tests response with multiple content types (text, image, resource)",
        inputSchema: NO_ARGS,
        run: () => ({
          content: [
            { type: "text", text: "Multiple content types test:" },
            { type: "image", data: IMAGE, mimeType: "image/png" },
            {
              type: "resource",
              resource: {
                uri: "test://mixed-content-resource",
                mimeType: "application/json",
                text: JSON.stringify({ test: "data", value: 123 }),
              },
            },
          ],
        }),
      },
      {
        ...owned,
        name: "test_tool_with_logging",
        description: "Tests tool that emits log messages during execution",
        inputSchema: NO_ARGS,
        async run(_args, ctx) {
          await log(ctx, "Tool execution started");
          await sleep(50);
          await log(ctx, "Tool processing data");
          await sleep(50);
          await log(ctx, "Tool execution completed");
          return text("Tool with logging executed successfully");
        },
      },
      {
        ...owned,
        name: "test_tool_with_progress",
        description: "Tests tool that reports progress notifications",
        inputSchema: NO_ARGS,
        async run(_args, ctx) {
          const progressToken = ctx.progressToken ?? 0;
          for (const progress of [0, 50, 100]) {
            await ctx.sendNotification({
              method: "notifications/progress",
              params: {
                progressToken,
                progress,
                total: 100,
                message: `Completed step ${progress} of 100`,
              },
            });
            if (progress < 100) await sleep(50);
          }
          return text(String(progressToken));
        },
      },
      {
        ...owned,
        name: "test_error_handling",
        description: "Tests error response handling",
        inputSchema: NO_ARGS,
        run: () => {
          throw new Error("This tool intentionally returns an error for testing");
        },
      },
      {
        ...owned,
        name: "test_reconnection",
        description:
          "Tests SSE stream disconnection and client reconnection (SEP-1699): closes the stream mid-call, answers after the client reconnects.",
        inputSchema: NO_ARGS,
        async run(_args, ctx) {
          ctx.closeSSEStream();
          await sleep(100);
          return text(
            "Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.",
          );
        },
      },
      {
        ...owned,
        name: "test_sampling",
        description: "Tests server-initiated sampling (LLM completion request)",
        inputSchema: {
          type: "object",
          properties: { prompt: { type: "string", description: "The prompt to send to the LLM" } },
          required: ["prompt"],
        },
        args: z.object({ prompt: z.string() }),
        async run(args, ctx) {
          try {
            const result = await ctx.sendRequest(
              {
                method: "sampling/createMessage",
                params: {
                  messages: [
                    { role: "user", content: { type: "text", text: String(args.prompt) } },
                  ],
                  maxTokens: 100,
                },
              } as never,
              z.object({ content: z.unknown() }).passthrough(),
            );
            const content = result.content as { text?: string } | undefined;
            return text(`LLM response: ${content?.text ?? "No response"}`);
          } catch (error) {
            return text(`Sampling not supported or error: ${(error as Error).message}`);
          }
        },
      },
      {
        ...owned,
        name: "test_elicitation",
        description: "Tests server-initiated elicitation (user input request)",
        inputSchema: {
          type: "object",
          properties: {
            message: { type: "string", description: "The message to show the user" },
          },
          required: ["message"],
        },
        args: z.object({ message: z.string() }),
        run: (args, ctx) =>
          elicit(ctx, String(args.message), {
            type: "object",
            properties: { response: { type: "string", description: "User's response" } },
            required: ["response"],
          }),
      },
      {
        ...owned,
        name: "test_elicitation_sep1034_defaults",
        description: "Tests elicitation with default values per SEP-1034",
        inputSchema: NO_ARGS,
        run: (_args, ctx) =>
          elicit(ctx, "Please review and update the form fields with defaults", {
            type: "object",
            properties: {
              name: { type: "string", description: "User name", default: "John Doe" },
              age: { type: "integer", description: "User age", default: 30 },
              score: { type: "number", description: "User score", default: 95.5 },
              status: {
                type: "string",
                description: "User status",
                enum: ["active", "inactive", "pending"],
                default: "active",
              },
              verified: { type: "boolean", description: "Verification status", default: true },
            },
            required: [],
          }),
      },
      {
        ...owned,
        name: "test_elicitation_sep1330_enums",
        description: "Tests elicitation with enum schema improvements per SEP-1330",
        inputSchema: NO_ARGS,
        run: (_args, ctx) =>
          elicit(ctx, "Please select options from the enum fields", {
            type: "object",
            properties: {
              untitledSingle: {
                type: "string",
                description: "Select one option",
                enum: ["option1", "option2", "option3"],
              },
              titledSingle: {
                type: "string",
                description: "Select one option with titles",
                oneOf: [
                  { const: "value1", title: "First Option" },
                  { const: "value2", title: "Second Option" },
                  { const: "value3", title: "Third Option" },
                ],
              },
              legacyEnum: {
                type: "string",
                description: "Select one option (legacy)",
                enum: ["opt1", "opt2", "opt3"],
                enumNames: ["Option One", "Option Two", "Option Three"],
              },
              untitledMulti: {
                type: "array",
                description: "Select multiple options",
                minItems: 1,
                maxItems: 3,
                items: { type: "string", enum: ["option1", "option2", "option3"] },
              },
              titledMulti: {
                type: "array",
                description: "Select multiple options with titles",
                minItems: 1,
                maxItems: 3,
                items: {
                  anyOf: [
                    { const: "value1", title: "First Choice" },
                    { const: "value2", title: "Second Choice" },
                    { const: "value3", title: "Third Choice" },
                  ],
                },
              },
            },
            required: [],
          }),
      },
      {
        ...owned,
        name: "json_schema_2020_12_tool",
        description: "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
        inputSchema: {
          $schema: "https://json-schema.org/draft/2020-12/schema",
          type: "object",
          $defs: {
            address: {
              type: "object",
              properties: { street: { type: "string" }, city: { type: "string" } },
            },
          },
          properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
          additionalProperties: false,
        },
        args: z
          .object({
            name: z.string().optional(),
            address: z
              .object({ street: z.string().optional(), city: z.string().optional() })
              .optional(),
          })
          .strict(),
        run: (args) => text(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`),
      },
    ],
    resources: [
      {
        ...owned,
        uri: "test://static-text",
        name: "static-text",
        title: "Static Text Resource",
        description: "A static text resource for testing",
        mimeType: "text/plain",
        read: (uri) => ({
          contents: [
            {
              uri,
              mimeType: "text/plain",
              text: "This is the content of the static text resource.",
            },
          ],
        }),
      },
      {
        ...owned,
        uri: "test://static-binary",
        name: "static-binary",
        title: "Static Binary Resource",
        description: "A static binary resource (image) for testing",
        mimeType: "image/png",
        read: (uri) => ({ contents: [{ uri, mimeType: "image/png", blob: IMAGE }] }),
      },
      {
        ...owned,
        uri: "test://watched-resource",
        name: "watched-resource",
        title: "Watched Resource",
        description: "A resource clients may subscribe to",
        mimeType: "text/plain",
        read: (uri) => ({
          contents: [{ uri, mimeType: "text/plain", text: "Watched resource content" }],
        }),
      },
    ],
    resourceTemplates: [
      {
        ...owned,
        uriTemplate: "test://template/{id}/data",
        name: "template",
        title: "Resource Template",
        description: "A resource template with parameter substitution",
        mimeType: "application/json",
        read: (uri, variables) => ({
          contents: [
            {
              uri,
              mimeType: "application/json",
              text: JSON.stringify({
                id: variables.id,
                templateTest: true,
                data: `Data for ID: ${variables.id}`,
              }),
            },
          ],
        }),
      },
    ],
    prompts: [
      {
        ...owned,
        name: "test_simple_prompt",
        title: "Simple Test Prompt",
        description: "A simple prompt without arguments",
        get: () => ({
          messages: [
            {
              role: "user",
              content: { type: "text", text: "This is a simple prompt for testing." },
            },
          ],
        }),
      },
      {
        ...owned,
        name: "test_prompt_with_arguments",
        title: "Prompt With Arguments",
        description: "A prompt with required arguments",
        arguments: [
          { name: "arg1", description: "First test argument", required: true },
          { name: "arg2", description: "Second test argument", required: true },
        ],
        get: (args) => ({
          messages: [
            {
              role: "user",
              content: {
                type: "text",
                text: `Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'`,
              },
            },
          ],
        }),
      },
      {
        ...owned,
        name: "test_prompt_with_embedded_resource",
        title: "Prompt With Embedded Resource",
        description: "A prompt that includes an embedded resource",
        arguments: [
          { name: "resourceUri", description: "URI of the resource to embed", required: true },
        ],
        get: (args) => ({
          messages: [
            {
              role: "user",
              content: {
                type: "resource",
                resource: {
                  uri: args.resourceUri ?? "",
                  mimeType: "text/plain",
                  text: "Embedded resource content for testing.",
                },
              },
            },
            {
              role: "user",
              content: { type: "text", text: "Please process the embedded resource above." },
            },
          ],
        }),
      },
      {
        ...owned,
        name: "test_prompt_with_image",
        title: "Prompt With Image",
        description: "A prompt that includes image content",
        get: () => ({
          messages: [
            { role: "user", content: { type: "image", data: IMAGE, mimeType: "image/png" } },
            { role: "user", content: { type: "text", text: "Please analyze the image above." } },
          ],
        }),
      },
    ],
  };
}
