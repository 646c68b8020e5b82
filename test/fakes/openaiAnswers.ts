import { randomBytes } from 'node:crypto';
import type { FakeAnswer, RouteError } from './fakeServer';
import type { FakeMessage, FakeToolCall, ReplyOptions } from './fakeReply';
import { countPromptTokens, fakeReply, reasoningInContent, splitTokens, wantsToolCalls } from './fakeReply';

/**
 * Checks a `/v1/chat/completions` body as OpenAI-compatible servers do and builds the answer.
 * `server: 'ollama'` streams tool calls as Ollama's `/v1` does: each call whole in one chunk.
 */
export function answerChatCompletion(body: unknown, opts: ReplyOptions, server: 'openai' | 'ollama' = 'openai', promptEvalCount?: number): FakeAnswer | RouteError {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, message: 'invalid JSON in request body' };
  const b = body as { model?: unknown; messages?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown }; tools?: unknown };
  if (typeof b.model !== 'string' || b.model === '') return { status: 400, message: 'model is required' };
  if (!Array.isArray(b.messages) || b.messages.length === 0) return { status: 400, message: "[] is too short - 'messages'" };
  if (!opts.acceptAnyModel && !opts.models.includes(b.model)) {
    return { status: 404, message: `model "${b.model}" not found, try pulling it first` };
  }
  const messages = b.messages as FakeMessage[];
  const text = fakeReply(opts.reply, messages, b.model);
  const reasoning = opts.reasoning;
  const input: OpenAIAnswerInput = {
    model: b.model,
    tokens: reasoning?.in === 'content' ? reasoningInContent(reasoning.text, text) : splitTokens(text),
    promptTokens: promptEvalCount ?? countPromptTokens(messages, b.tools),
    // The OpenAI API answers in one JSON unless asked to stream.
    stream: b.stream === true,
    includeUsage: b.stream_options?.include_usage === true,
  };
  if (reasoning?.in === 'field') {
    input.reasoning = splitTokens(reasoning.text);
    // Ollama's /v1 names the field `reasoning`; vLLM and llama.cpp `reasoning_content`.
    input.reasoningField = server === 'ollama' ? 'reasoning' : 'reasoning_content';
  }
  if (wantsToolCalls(opts.toolCalls, b)) input.toolCalls = opts.toolCalls;
  if (server === 'ollama') input.argumentPieces = 0;
  return openaiChatAnswer(input);
}

export interface OpenAIAnswerInput {
  model: string;
  /** The answer's text in pieces; one SSE chunk each. */
  tokens: string[];
  toolCalls?: FakeToolCall[];
  promptTokens: number;
  stream: boolean;
  /** `stream_options.include_usage`: add the usage chunk (empty `choices`) before `[DONE]`. */
  includeUsage: boolean;
  /**
   * Pieces each tool call's arguments are split into, to exercise reassembly by index (default 3);
   * 0 sends every call whole in one chunk (id, name and arguments), as Ollama's `/v1` does.
   */
  argumentPieces?: number;
  /** Reasoning sent apart from the content, one chunk per piece, before the answer's. */
  reasoning?: string[];
  reasoningField?: 'reasoning' | 'reasoning_content';
}

/**
 * `/v1/chat/completions` exactly as OpenAI streams it: `data: <chunk>\n\n` events of
 * `chat.completion.chunk` objects, a role-only first delta, tool calls in fragments keyed by
 * `index`, a `finish_reason` chunk, the usage chunk when asked, then `data: [DONE]`.
 */
export function openaiChatAnswer(input: OpenAIAnswerInput): FakeAnswer {
  const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const head = { id, object: 'chat.completion.chunk', created, model: input.model, system_fingerprint: 'fp_fake' };
  const chunk = (delta: object, finishReason: string | null = null) =>
    event({ ...head, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
  const calls = input.toolCalls?.map((c) => ({ id: c.id ?? `call_${randomBytes(12).toString('hex')}`, name: c.name, args: JSON.stringify(c.arguments) }));
  const completionTokens = (input.reasoning?.length ?? 0) + (calls ? calls.length : Math.max(1, input.tokens.length));
  const reasoningField = input.reasoningField ?? 'reasoning_content';
  const usage = { prompt_tokens: input.promptTokens, completion_tokens: completionTokens, total_tokens: input.promptTokens + completionTokens };
  const finishReason = calls ? 'tool_calls' : 'stop';
  const oversized = (bytes: number) => chunk({ content: 'x'.repeat(bytes) });

  if (!input.stream) {
    const message = calls
      ? { role: 'assistant', content: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } })) }
      : { role: 'assistant', content: input.tokens.join('') };
    if (input.reasoning) Object.assign(message, { [reasoningField]: input.reasoning.join('') });
    const body = JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model: input.model,
      system_fingerprint: 'fp_fake',
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
      usage,
    });
    return { contentType: 'application/json', streamed: false, pieces: [body], final: [], garbage: '<html>not json</html>', oversized: (b) => JSON.stringify({ id, object: 'chat.completion', created, model: input.model, choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(b) }, finish_reason: 'stop' }] }), flavour: 'openai' };
  }

  const pieces: string[] = [];
  if (input.reasoning) {
    // As vLLM: the role-only first delta, then the reasoning, then the content.
    pieces.push(chunk({ role: 'assistant', content: '' }));
    for (const t of input.reasoning) pieces.push(chunk({ [reasoningField]: t }));
  }
  if (calls) {
    const parts = input.argumentPieces ?? 3;
    if (parts === 0) {
      const whole = calls.map((c, index) => ({ id: c.id, index, type: 'function', function: { name: c.name, arguments: c.args } }));
      pieces.push(chunk({ role: 'assistant', content: '', tool_calls: whole }));
    } else {
      calls.forEach((c, index) => {
        const first = { index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } };
        pieces.push(chunk(index === 0 ? { role: 'assistant', content: null, tool_calls: [first] } : { tool_calls: [first] }));
        for (const part of splitInto(c.args, parts)) pieces.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
      });
    }
  } else {
    if (!input.reasoning) pieces.push(chunk({ role: 'assistant', content: '' }));
    for (const t of input.tokens) pieces.push(chunk({ content: t }));
  }
  pieces.push(chunk({}, finishReason));
  if (input.includeUsage) pieces.push(event({ ...head, choices: [], usage }));
  return {
    contentType: 'text/event-stream; charset=utf-8',
    streamed: true,
    pieces,
    final: ['data: [DONE]\n\n'],
    garbage: 'data: this is not json\n\ndata: {nor is this\n\n',
    oversized,
    flavour: 'openai',
    // vLLM's shape: an event whose object is `{error}` (no `choices`), then the usual end marker.
    streamError: (message) => [event({ error: { message, type: 'server_error', param: null, code: 500 } }), 'data: [DONE]\n\n'],
  };
}

/** `GET /v1/models`. */
export function openaiModelList(models: string[], ownedBy: string): unknown {
  return { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: ownedBy })) };
}

function event(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

function splitInto(text: string, parts: number): string[] {
  if (text.length === 0) return [];
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
