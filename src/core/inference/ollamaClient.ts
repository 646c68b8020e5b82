import type { Dispatcher } from 'undici';
import { DEFAULT_MAX_LINE_BYTES } from './lineFramer';
import { lineStream } from './lineStream';
import { NodeError } from './nodeError';
import { nodeRequest } from './nodeRequest';
import { finalChunk, fromOllamaToolCall, parseRecord, plainDeltaText } from './ollamaRecord';
import { splitChunks, ThinkSplitter } from './thinkSplitter';
import type { ChatChunk, ChatMessage, ChatRequest, Endpoint, InferenceClient, ToolDefinition } from './types';

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
    const options: OllamaOptions = {};
    if (request.temperature !== undefined) options.temperature = request.temperature;
    if (request.numCtx !== undefined) {
      options.num_ctx = request.numCtx;
      // Ollama 0.12.6+: refuse an overflowing prompt (400) instead of dropping old messages and the
      // middle of the prompt and answering 200 (server/prompt.go; ollama#3839, #17427).
      body.truncate = false;
    }
    if (options.temperature !== undefined || options.num_ctx !== undefined) body.options = options;
    if (request.think !== undefined) body.think = request.think;

    const send = () => nodeRequest(this.dispatcher, this.endpoint, { path: '/api/chat', body, accept: 'application/x-ndjson', signal: request.signal });
    let res: Awaited<ReturnType<typeof send>>;
    try {
      res = await send();
    } catch (err) {
      // Ollama answers `think: true` for a model without the thinking capability with 400
      // `"<model>" does not support thinking` (server/routes.go): a setting that does not fit
      // this model, not a broken node. Ask again with the model's default.
      if (!(body.think === true && err instanceof NodeError && err.details.status === 400 && /does not support thinking/.test(err.message))) throw err;
      delete body.think;
      res = await send();
    }
    let final: ChatChunk | undefined;
    // Ollama before 0.12.5 (and 0.12.5+ with a model it has no reasoning parser for) sends the
    // reasoning inside the content; 0.12.5+ sends it apart, in `message.thinking`.
    const splitter = new ThinkSplitter();
    try {
      for await (const line of lineStream(res.chunks(), this.endpoint.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES)) {
        // Read on to the end of the body after the final record so the connection goes back to the pool.
        if (final || line.length === 0) continue;
        const plain = plainDeltaText(line, false);
        if (plain !== undefined) {
          yield* splitChunks(splitter.push(plain));
          continue;
        }
        const record = parseRecord(line);
        if (typeof record.error === 'string') {
          throw new NodeError('incomplete', `the node gave up mid-answer: ${record.error.slice(0, 200)}`);
        }
        const message = record.message;
        if (typeof message?.thinking === 'string' && message.thinking.length > 0) yield { type: 'thinking', text: message.thinking };
        if (typeof message?.content === 'string' && message.content.length > 0) yield* splitChunks(splitter.push(message.content));
        if (record.done === true) yield* splitChunks(splitter.flush());
        if (message && Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
          yield { type: 'tool_calls', calls: message.tool_calls.map(fromOllamaToolCall) };
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
  options?: OllamaOptions;
  think?: boolean;
  truncate?: false;
}

interface OllamaOptions {
  temperature?: number;
  num_ctx?: number;
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

