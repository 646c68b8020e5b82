import type { Dispatcher } from 'undici';
import { DEFAULT_MAX_LINE_BYTES } from './lineFramer';
import { lineStream } from './lineStream';
import { NodeError } from './nodeError';
import { nodeRequest } from './nodeRequest';
import { describeError, numberOrUndefined, parseChunk, reasoningOf, type OpenAIChoice } from './openaiChunk';
import { sseStream } from './sseStream';
import { splitChunks, ThinkSplitter } from './thinkSplitter';
import { ToolCallAccumulator } from './toolCallAccumulator';
import type { ChatChunk, ChatMessage, ChatRequest, Endpoint, InferenceClient, ToolDefinition } from './types';

/**
 * Any OpenAI-compatible server (llama.cpp, vLLM, LM Studio, Ollama's /v1, hosted APIs):
 * `POST /v1/chat/completions` streamed as server-sent events until `data: [DONE]`.
 */
export class OpenAIClient implements InferenceClient {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly dispatcher: Dispatcher,
  ) {}

  async *chat(request: ChatRequest): AsyncGenerator<ChatChunk> {
    const body: OpenAIChatBody = {
      model: request.model,
      messages: toOpenAIMessages(request.messages),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (request.tools?.length) body.tools = request.tools.map(toOpenAITool);
    if (request.temperature !== undefined) body.temperature = request.temperature;

    const res = await nodeRequest(this.dispatcher, this.endpoint, {
      path: '/v1/chat/completions',
      body,
      accept: 'text/event-stream',
      signal: request.signal,
    });
    const calls = new ToolCallAccumulator();
    let sawDone = false;
    let finishReason: string | undefined;
    let promptTokens: number | undefined;
    let completionTokens: number | undefined;
    let evalMs: number | undefined;
    // Servers without a reasoning parser leave the `<think>` block in the content.
    const splitter = new ThinkSplitter();
    try {
      for await (const data of sseStream(lineStream(res.chunks(), this.endpoint.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES))) {
        // Read on to the end of the body after [DONE] so the connection goes back to the pool.
        if (sawDone) continue;
        if (data === '[DONE]') {
          sawDone = true;
          continue;
        }
        const chunk = parseChunk(data);
        if (chunk.error !== undefined) {
          throw new NodeError('incomplete', `the node gave up mid-answer: ${describeError(chunk.error)}`);
        }
        const choice = Array.isArray(chunk.choices) ? (chunk.choices[0] as OpenAIChoice | undefined) : undefined;
        if (choice) {
          const delta = choice.delta;
          if (delta) {
            const reasoning = reasoningOf(delta);
            if (reasoning !== undefined) yield { type: 'thinking', text: reasoning };
            if (typeof delta.content === 'string' && delta.content.length > 0) yield* splitChunks(splitter.push(delta.content));
            if (Array.isArray(delta.tool_calls)) for (const fragment of delta.tool_calls) calls.add(fragment);
          }
          if (typeof choice.finish_reason === 'string' && choice.finish_reason) {
            finishReason = choice.finish_reason;
            // The calls are whole now; the usage chunk and [DONE] may still follow.
            if (calls.size > 0) yield { type: 'tool_calls', calls: calls.take() };
          }
        }
        if (chunk.usage && typeof chunk.usage === 'object') {
          promptTokens = numberOrUndefined(chunk.usage.prompt_tokens) ?? promptTokens;
          completionTokens = numberOrUndefined(chunk.usage.completion_tokens) ?? completionTokens;
        }
        // llama.cpp's server reports its generation time; others leave tokens/s to the wall clock.
        if (chunk.timings && typeof chunk.timings === 'object') evalMs = numberOrUndefined(chunk.timings.predicted_ms) ?? evalMs;
      }
    } catch (err) {
      // After [DONE] the answer is whole; a failure while draining only costs the connection.
      if (!sawDone || request.signal?.aborted) throw err;
    } finally {
      res.close();
    }
    if (!sawDone) throw new NodeError('incomplete', 'the answer ended without data: [DONE]');
    yield* splitChunks(splitter.flush());
    if (calls.size > 0) yield { type: 'tool_calls', calls: calls.take() };
    yield { type: 'done', doneReason: finishReason ?? 'stop', promptTokens, completionTokens, evalMs };
  }
}

interface OpenAIChatBody {
  model: string;
  messages: OpenAIMessage[];
  tools?: OpenAITool[];
  stream: true;
  stream_options: { include_usage: true };
  temperature?: number;
}

type OpenAIMessage =
  | { role: 'system' | 'user'; content: string }
  | {
      role: 'assistant';
      content: string | null;
      tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
    }
  | { role: 'tool'; content: string; tool_call_id?: string };

interface OpenAITool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

function toOpenAIMessages(messages: ChatMessage[]): OpenAIMessage[] {
  // A tool result must name its call; if ours only knows the tool's name, find the call that asked for it.
  const callIdsByName = new Map<string, string>();
  return messages.map((m): OpenAIMessage => {
    switch (m.role) {
      case 'assistant':
        if (m.tool_calls?.length) {
          for (const call of m.tool_calls) callIdsByName.set(call.name, call.id);
          return {
            role: 'assistant',
            content: m.content.length > 0 ? m.content : null,
            tool_calls: m.tool_calls.map((c) => ({
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: JSON.stringify(c.arguments) },
            })),
          };
        }
        return { role: 'assistant', content: m.content };
      case 'tool': {
        const id = m.tool_call_id ?? (m.name === undefined ? undefined : callIdsByName.get(m.name));
        return id === undefined ? { role: 'tool', content: m.content } : { role: 'tool', content: m.content, tool_call_id: id };
      }
      default:
        return { role: m.role, content: m.content };
    }
  });
}

function toOpenAITool(tool: ToolDefinition): OpenAITool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } };
}
