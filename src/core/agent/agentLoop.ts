import type { ChatEvent, DoneEvent } from '../chatEvent';
import type { Conversation } from '../conversation';
import type { CompleteRequest } from '../routing/failoverRunner';
import type { ChatMessage, ToolCall } from '../inference/types';
import type { Intent, Tier } from '../routing/classification';
import type { AgentEvent } from './agentEvent';
import type { ToolRegistry } from './toolRegistry';

/** The part of the Coordinator the loop needs; tests pass a scripted one. */
export interface CompletionSource {
  complete(request: CompleteRequest): AsyncIterable<ChatEvent>;
}

export interface AgentLoopOptions {
  coordinator: CompletionSource;
  /** undefined or empty: no tools are offered (tools off in the config, or an untrusted workspace). */
  tools?: ToolRegistry;
  /** Tool-calling rounds per prompt (`agent.max_steps`). */
  maxSteps: number;
  /** Replaces the built-in system prompt (`agent.system_prompt`). */
  systemPrompt?: string;
}

export interface AgentRunRequest {
  conversation: Conversation;
  prompt: string;
  context?: { label: string; text: string };
  tier?: Tier | 'auto';
  intent?: Intent;
  signal?: AbortSignal;
}

const TOOL_PROMPT =
  'You are Harombe, a coding assistant inside the user\'s editor. You can use tools to read, search and change files of the ' +
  'workspace and to run commands. Paths are relative to the workspace root. Read before you edit. Writes and commands are ' +
  'shown to the user, who may deny them: if a tool result says so, do not retry the same thing; explain instead.';

/**
 * One user prompt, answered with tools: each round streams the model's turn through the
 * coordinator; tool calls are run through the registry and their results fed back as `tool`
 * messages, until the model answers without tools or `maxSteps` rounds are used (then it gets one
 * last turn without tools, so the user still gets an answer). Only the final `done` is passed on,
 * so a UI can treat `done` as "the answer is complete". The conversation gets the whole exchange
 * (tool calls and results included) only when the run succeeds.
 */
export class AgentLoop {
  constructor(private readonly opts: AgentLoopOptions) {}

  async *run(request: AgentRunRequest): AsyncGenerator<AgentEvent> {
    const { conversation, signal } = request;
    const tools = this.opts.tools && this.opts.tools.size > 0 ? this.opts.tools : undefined;
    const content = request.context
      ? `${request.prompt}\n\n${request.context.label}:\n\`\`\`\n${request.context.text}\n\`\`\``
      : request.prompt;
    const turn: ChatMessage[] = [{ role: 'user', content }];
    const systemPrompt = this.opts.systemPrompt ?? (tools ? TOOL_PROMPT : undefined);
    const hasSystem = conversation.messages[0]?.role === 'system';
    const prefix: ChatMessage[] = systemPrompt && !hasSystem ? [{ role: 'system', content: systemPrompt }] : [];
    let sticky = conversation.lastNode;

    for (let step = 0; ; step++) {
      const offerTools = tools !== undefined && step < this.opts.maxSteps;
      if (tools && !offerTools) yield { type: 'notice', message: `Reached the limit of ${this.opts.maxSteps} tool steps (agent.max_steps); asking for a final answer.` };
      let text = '';
      const calls: ToolCall[] = [];
      let done: DoneEvent | undefined;
      for await (const event of this.opts.coordinator.complete({
        messages: [...prefix, ...conversation.messages, ...turn],
        tools: offerTools ? tools.definitions() : undefined,
        tier: request.tier,
        intent: request.intent,
        prompt: request.prompt,
        contextChars: conversation.historyChars + (request.context?.text.length ?? 0),
        stickyNode: sticky,
        affinityKey: conversation.id,
        signal,
      })) {
        if (event.type === 'delta') text += event.text;
        else if (event.type === 'fallback' && event.discardPartial) {
          text = '';
          calls.length = 0;
        } else if (event.type === 'tool_calls') calls.push(...event.calls);
        else if (event.type === 'done') {
          done = event;
          continue; // passed on below, once we know whether the run ends here
        } else if (event.type === 'error') {
          yield event;
          return;
        }
        if (event.type !== 'tool_calls') yield event;
      }
      if (!done) return; // the coordinator always ends with done or error; be safe anyway
      sticky = done.node;

      if (calls.length === 0 || !offerTools) {
        // A model may call tools it was not offered (text it read can tell it to); without this the
        // user would see an empty answer and never learn that something was asked and refused.
        if (calls.length > 0) {
          const why = tools ? `the limit of ${this.opts.maxSteps} tool steps (agent.max_steps) is reached` : 'tools are off for this chat';
          yield { type: 'notice', message: `Not run: the model asked for ${[...new Set(calls.map((c) => c.name))].join(', ')}, but ${why}.` };
        }
        turn.push({ role: 'assistant', content: text });
        conversation.messages.push(...turn);
        conversation.lastNode = done.node;
        yield done;
        return;
      }

      turn.push({ role: 'assistant', content: text, tool_calls: calls });
      for (const call of calls) {
        if (signal?.aborted) {
          yield { type: 'error', code: 'cancelled', message: 'Cancelled.', attempts: [] };
          return;
        }
        yield { type: 'tool_step', id: call.id, name: call.name, args: call.arguments, status: 'running' };
        const outcome = await tools.execute(call, { signal });
        yield { type: 'tool_step', id: call.id, name: call.name, args: call.arguments, status: outcome.status, result: outcome.result };
        turn.push({ role: 'tool', content: outcome.result, tool_call_id: call.id, name: call.name });
      }
    }
  }
}
