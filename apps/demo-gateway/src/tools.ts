/**
 * The MCP tools the gateway advertises. Visibility is by team: a tool lists the teams that may
 * see it, or none for everyone. The catalogue is configuration, not data, so listing tools
 * costs no database query.
 */

export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Readonly<Record<string, unknown>>;
  /** Team ids allowed to see the tool; empty = every authenticated caller. */
  readonly teams: readonly string[];
}

export const demoTools: readonly ToolDefinition[] = [
  {
    name: "echo",
    description: "Returns its input. Visible to everyone.",
    inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    teams: [],
  },
  {
    name: "deploy_service",
    description: "Deploys a service. Platform team only.",
    inputSchema: {
      type: "object",
      properties: { service: { type: "string" }, version: { type: "string" } },
      required: ["service"],
    },
    teams: ["team-platform"],
  },
  {
    name: "query_dataset",
    description: "Runs a read-only query on a research dataset. Research team only.",
    inputSchema: { type: "object", properties: { sql: { type: "string" } }, required: ["sql"] },
    teams: ["team-research"],
  },
];

/** The tools whose team list intersects `teams` (or is empty), in catalogue order. */
export function visibleTools(
  tools: readonly ToolDefinition[],
  teams: readonly string[],
): ToolDefinition[] {
  const mine = new Set(teams);
  return tools.filter((t) => t.teams.length === 0 || t.teams.some((id) => mine.has(id)));
}
