import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { DEFAULT_MAX_LINE_BYTES, lineStream } from './lineStream';
import { NodeError } from './nodeError';
import { nodeRequest } from './nodeRequest';
import type { ChatChunk, ChatMessage, ChatRequest, Endpoint, InferenceClient, ToolCall, ToolDefinition } from './types';

/** Ollama's native chat: `POST /api/chat`, answered as NDJSON records until one says `done: true`. */
export class OllamaClient implements InferenceClient {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly dispatcher: Dispatcher,
  ) {}

  async *chat(request: ChatRequest): AsyncGenerator<ChatChunk> {
    const body: OllamaChatBody = {
      model: request.model,
      messages: toOllamaMessages(request.messages),
      stream: true,
    };
    if (request.tools?.length) body.tools = request.tools.map(toOllamaTool);
    if (request.temperature !== undefined) body.options = { temperature: request.temperature };

    const res = await nodeRequest(this.dispatcher, this.endpoint, {
      path: '/api/chat',
      body,
      accept: 'application/x-ndjson',
      signal: request.signal,
    });
    let final: ChatChunk | undefined;
    try {
      for await (const line of lineStream(res.chunks(), this.endpoint.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)) {
        // Read on to the end of the body after the final record so the connection goes back to the pool.
        if (final || line.length === 0) continue;
        const record = parseRecord(line);
        if (typeof record.error === 'string') {
          throw new NodeError('incomplete', `the node gave up mid-answer: ${record.error.slice(0, 200)}`);
        }
        const message = record.message;
        if (message) {
          if (typeof message.content === 'string' && message.content.length > 0) yield { type: 'delta', text: message.content };
          if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
            yield { type: 'tool_calls', calls: message.tool_calls.map(fromOllamaToolCall) };
          }
        }
        if (record.done === true) final = finalChunk(record);
      }
    } catch (err) {
      // After the final record the answer is whole; a failure while draining only costs the connection.
      if (!final || request.signal?.aborted) throw err;
    } finally {
      res.close();
    }
    if (!final) throw new NodeError('incomplete', 'the answer ended without its final record (done: true)');
    yield final;
  }
}

interface OllamaChatBody {
  model: string;
  messages: OllamaMessage[];
  tools?: OllamaTool[];
  stream: true;
  options?: { temperature: number };
}

interface OllamaMessage {
  role: string;
  content: string;
  tool_calls?: { function: { name: string; arguments: Record<string, unknown> } }[];
  tool_name?: string;
}

interface OllamaTool {
  type: 'function';
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

interface OllamaRecord {
  message?: { content?: unknown; tool_calls?: unknown };
  done?: unknown;
  done_reason?: unknown;
  prompt_eval_count?: unknown;
  eval_count?: unknown;
  eval_duration?: unknown;
  error?: unknown;
}

function toOllamaMessages(messages: ChatMessage[]): OllamaMessage[] {
  // Ollama names the tool a result belongs to; ours may only carry the call id, so look the name up.
  const toolNames = new Map<string, string>();
  return messages.map((m) => {
    if (m.role === 'assistant' && m.tool_calls?.length) {
      for (const call of m.tool_calls) toolNames.set(call.id, call.name);
      return {
        role: 'assistant',
        content: m.content,
        tool_calls: m.tool_calls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })),
      };
    }
    if (m.role === 'tool') {
      const name = m.name ?? (m.tool_call_id === undefined ? undefined : toolNames.get(m.tool_call_id));
      return name === undefined ? { role: 'tool', content: m.content } : { role: 'tool', content: m.content, tool_name: name };
    }
    return { role: m.role, content: m.content };
  });
}

function toOllamaTool(tool: ToolDefinition): OllamaTool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } };
}

function parseRecord(line: string): OllamaRecord {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (err) {
    throw new NodeError('protocol', `the node sent a line that is not JSON: ${JSON.stringify(line.slice(0, 80))}`, { cause: err });
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new NodeError('protocol', `the node sent a line that is not a JSON object: ${JSON.stringify(line.slice(0, 80))}`);
  }
  return record as OllamaRecord;
}

function fromOllamaToolCall(raw: unknown): ToolCall {
  const call = raw as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
  const fn = call?.function;
  if (typeof fn?.name !== 'string') throw new NodeError('protocol', 'the node sent a tool call without a function name');
  let args = fn.arguments ?? {};
  // Some Ollama-compatible servers send the arguments as a JSON string, as OpenAI does.
  if (typeof args === 'string') {
    try {
      args = args.trim() === '' ? {} : JSON.parse(args);
    } catch (err) {
      throw new NodeError('protocol', `the arguments of tool call ${fn.name} are not JSON`, { cause: err });
    }
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new NodeError('protocol', `the arguments of tool call ${fn.name} are not an object`);
  }
  // Recent Ollama versions number their calls; older ones do not, and results must refer back somehow.
  const id = typeof call.id === 'string' && call.id.length > 0 ? call.id : `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  return { id, name: fn.name, arguments: args as Record<string, unknown> };
}

function finalChunk(record: OllamaRecord): ChatChunk {
  return {
    type: 'done',
    doneReason: typeof record.done_reason === 'string' && record.done_reason ? record.done_reason : 'stop',
    promptTokens: numberOrUndefined(record.prompt_eval_count),
    completionTokens: numberOrUndefined(record.eval_count),
    evalMs: typeof record.eval_duration === 'number' ? record.eval_duration / 1e6 : undefined,
  };
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
