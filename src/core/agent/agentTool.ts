import type { ToolDefinition } from '../inference/types';

/** What a tool gets besides its arguments. */
export interface ToolContext {
  signal?: AbortSignal;
}

/**
 * One tool the model may call. `run` returns the text the model sees; it throws `ToolDeniedError`
 * when the user refused, and any other error for a failure (both are reported back to the model).
 */
export interface AgentTool {
  definition: ToolDefinition;
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<string>;
}
