/**
 * The demo's own MCP catalogue: one tool for everyone, one per shared team, a resource per team
 * and a prompt for the platform team. The tools really run (in memory: no outside system).
 */
import { z } from "zod";
import type { McpCatalogue, ToolDefinition } from "./catalogue.ts";

const PLATFORM = "team-platform";
const RESEARCH = "team-research";

/** A zod object schema and its JSON Schema, so the listed schema and the check never drift. */
function schema<T extends z.ZodObject>(args: T): Pick<ToolDefinition, "args" | "inputSchema"> {
  const json = z.toJSONSchema(args) as Record<string, unknown>;
  return { args, inputSchema: { ...json, type: "object" } };
}

const DATASET: readonly { id: number; species: string; lengthMm: number; site: string }[] = [
  { id: 1, species: "kelp", lengthMm: 1840, site: "north" },
  { id: 2, species: "kelp", lengthMm: 2210, site: "south" },
  { id: 3, species: "eelgrass", lengthMm: 640, site: "north" },
  { id: 4, species: "eelgrass", lengthMm: 710, site: "bay" },
  { id: 5, species: "sea lettuce", lengthMm: 290, site: "bay" },
];

const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });

/** A fresh catalogue (deployments are per gateway, in memory). */
export function createDemoCatalogue(): McpCatalogue {
  const deployments: { id: number; service: string; version: string; by: string; at: string }[] =
    [];

  const echoArgs = z.object({ text: z.string().max(10_000) });
  const deployArgs = z.object({
    service: z.string().min(1).max(100),
    version: z.string().min(1).max(50).optional(),
  });
  const queryArgs = z.object({
    species: z.string().max(100).optional(),
    minLengthMm: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).max(100).optional(),
  });

  return {
    tools: [
      {
        name: "echo",
        description: "Returns its input. Visible to everyone.",
        teams: [],
        ...schema(echoArgs),
        run: (args) => text(echoArgs.parse(args).text),
      },
      {
        name: "deploy_service",
        description: "Deploys a service (recorded in memory). Platform team only.",
        teams: [PLATFORM],
        ...schema(deployArgs),
        async run(args, ctx) {
          const { service, version = "latest" } = deployArgs.parse(args);
          const steps = ["build", "push", "roll out"];
          for (const [i, step] of steps.entries()) {
            if (ctx.progressToken !== undefined) {
              await ctx.sendNotification({
                method: "notifications/progress",
                params: {
                  progressToken: ctx.progressToken,
                  progress: i + 1,
                  total: steps.length,
                  message: step,
                },
              });
            }
          }
          const deployment = {
            id: deployments.length + 1,
            service,
            version,
            by: ctx.caller.email,
            at: new Date().toISOString(),
          };
          deployments.push(deployment);
          await ctx.log("info", deployment, "deploy_service");
          return {
            ...text(`Deployed ${service}@${version} as deployment #${deployment.id}`),
            structuredContent: deployment,
          };
        },
      },
      {
        name: "query_dataset",
        description:
          "Queries the research team's algae measurements (filter by species and minimum length). Research team only.",
        teams: [RESEARCH],
        ...schema(queryArgs),
        run(args) {
          const { species, minLengthMm = 0, limit = 20 } = queryArgs.parse(args);
          const rows = DATASET.filter(
            (r) => (species === undefined || r.species === species) && r.lengthMm >= minLengthMm,
          ).slice(0, limit);
          return { ...text(JSON.stringify(rows)), structuredContent: { rows } };
        },
      },
    ],
    resources: [
      {
        uri: `team://${PLATFORM}/runbook`,
        name: "platform-runbook",
        title: "Platform on-call runbook",
        description: "How the platform team handles an incident. Platform team only.",
        mimeType: "text/markdown",
        teams: [PLATFORM],
        read: (uri) => ({
          contents: [
            {
              uri,
              mimeType: "text/markdown",
              text: [
                "# Platform runbook",
                "1. Acknowledge the page.",
                "2. Revoke any leaked token: POST /admin/tokens/<jti>/revoke.",
                `3. Recent deployments: ${deployments.length}.`,
              ].join("\n"),
            },
          ],
        }),
      },
      {
        uri: `team://${RESEARCH}/datasets`,
        name: "research-datasets",
        title: "Research datasets",
        description: "The datasets query_dataset can read. Research team only.",
        mimeType: "application/json",
        teams: [RESEARCH],
        read: (uri) => ({
          contents: [
            {
              uri,
              mimeType: "application/json",
              text: JSON.stringify({ measurements: { rows: DATASET.length } }),
            },
          ],
        }),
      },
    ],
    resourceTemplates: [],
    prompts: [
      {
        name: "incident_review",
        title: "Incident review",
        description: "Drafts a post-incident review for a service. Platform team only.",
        teams: [PLATFORM],
        arguments: [
          {
            name: "service",
            description: "The service that failed",
            required: true,
            complete: (value) =>
              ["api", "auth", "billing", "gateway"].filter((s) => s.startsWith(value)),
          },
        ],
        get: (args, ctx) => ({
          description: `Incident review for ${args.service}`,
          messages: [
            {
              role: "user",
              content: {
                type: "text",
                text: `Write a blameless post-incident review for the ${args.service} service. Requested by ${ctx.caller.email}.`,
              },
            },
          ],
        }),
      },
    ],
  };
}
