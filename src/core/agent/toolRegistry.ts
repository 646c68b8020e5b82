import type { ToolCall, ToolDefinition } from '../inference/types';
import type { AgentTool, ToolContext } from './agentTool';
import { ToolDeniedError } from './toolDeniedError';

/** How a tool call ended, and the text the model gets back. */
export interface ToolOutcome {
  status: 'done' | 'denied' | 'error';
  result: string;
}

/** Longest tool result sent back to the model, in characters: a huge file must not fill the context. */
const MAX_RESULT_CHARS = 20_000;

/** The tools offered to the model for one run, by name. */
export class ToolRegistry {
  private readonly tools = new Map<string, AgentTool>();

  constructor(tools: readonly AgentTool[] = []) {
    for (const t of tools) this.register(t);
  }

  register(tool: AgentTool): void {
    this.tools.set(tool.definition.name, tool);
  }

  get size(): number {
    return this.tools.size;
  }

  definitions(): ToolDefinition[] {
    return [...this.tools.values()].map((t) => t.definition);
  }

  /** Never throws: an unknown tool, bad arguments, a denial or a failure become an outcome the model can read. */
  async execute(call: ToolCall, ctx: ToolContext): Promise<ToolOutcome> {
    const tool = this.tools.get(call.name);
    if (!tool) return { status: 'error', result: `Unknown tool ${call.name}. Available: ${[...this.tools.keys()].join(', ')}.` };
    try {
      const result = await tool.run(call.arguments ?? {}, ctx);
      return { status: 'done', result: cap(result) };
    } catch (err) {
      if (err instanceof ToolDeniedError) return { status: 'denied', result: `The user denied this: ${err.message}` };
      return { status: 'error', result: `Error: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}

function cap(text: string): string {
  return text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS)}\n… (cut at ${MAX_RESULT_CHARS} characters)` : text;
}
