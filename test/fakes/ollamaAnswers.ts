import type { FakeAnswer, RouteError } from './fakeServer';
import type { FakeMessage, FakeToolCall, ReplyOptions } from './fakeReply';
import { countPromptTokens, fakeReply, reasoningInContent, splitTokens, wantsToolCalls } from './fakeReply';

/** Checks an `/api/chat` or `/api/generate` body as Ollama does and builds the answer. */
/** `promptEvalCount`: what the server read of a prompt it cut (see `ollamaWindow`); the whole prompt otherwise. */
export function answerOllama(route: 'chat' | 'generate', body: unknown, opts: ReplyOptions, promptEvalCount?: number): FakeAnswer | RouteError {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, message: 'invalid JSON in request body' };
  const b = body as { model?: unknown; messages?: unknown; prompt?: unknown; stream?: unknown; tools?: unknown; think?: unknown };
  const tools = route === 'chat' ? b.tools : undefined;
  if (typeof b.model !== 'string' || b.model === '') return { status: 400, message: 'model is required' };
  if (!opts.acceptAnyModel && !opts.models.includes(b.model)) {
    return { status: 404, message: `model "${b.model}" not found, try pulling it first` };
  }
  const reasoning = opts.reasoning;
  const messages: FakeMessage[] =
    route === 'chat'
      ? Array.isArray(b.messages)
        ? (b.messages as FakeMessage[])
        : []
      : [{ role: 'user', content: typeof b.prompt === 'string' ? b.prompt : '' }];
  const text = fakeReply(opts.reply, messages, b.model);
  const input: OllamaAnswerInput = {
    model: b.model,
    tokens: reasoning?.in === 'content' ? reasoningInContent(reasoning.text, text) : splitTokens(text),
    promptTokens: promptEvalCount ?? countPromptTokens(messages, tools),
    // Ollama streams unless told otherwise, unlike the OpenAI API.
    stream: b.stream !== false,
  };
  if (reasoning?.in === 'field' && b.think !== false) input.thinking = splitTokens(reasoning.text);
  if (route === 'chat' && wantsToolCalls(opts.toolCalls, b)) input.toolCalls = opts.toolCalls;
  return route === 'chat' ? ollamaChatAnswer(input) : ollamaGenerateAnswer(input);
}

export interface OllamaAnswerInput {
  model: string;
  /** The answer's text in pieces; one NDJSON record each. */
  tokens: string[];
  /** Reasoning sent apart (Ollama 0.12.5+): one record each, before the answer's. */
  thinking?: string[];
  toolCalls?: FakeToolCall[];
  promptTokens: number;
  stream: boolean;
}

/** Simulated generation speed, reported in eval_duration so clients can compute tokens/s. */
const NS_PER_TOKEN = 20_000_000;

/** `/api/chat` the way Ollama answers it: NDJSON records, the last one `done: true` with counts. */
export function ollamaChatAnswer(input: OllamaAnswerInput): FakeAnswer {
  const createdAt = new Date().toISOString();
  const evalCount = (input.thinking?.length ?? 0) + (input.toolCalls ? 1 : Math.max(1, input.tokens.length));
  const final = {
    model: input.model,
    created_at: createdAt,
    message: { role: 'assistant', content: '' },
    done_reason: 'stop',
    done: true,
    ...counts(input.promptTokens, evalCount),
  };
  const toolCalls = input.toolCalls?.map((c) => ({
    ...(c.id ? { id: c.id } : {}),
    function: { name: c.name, arguments: c.arguments },
  }));
  const oversized = (bytes: number) =>
    line({ model: input.model, created_at: createdAt, message: { role: 'assistant', content: 'x'.repeat(bytes) }, done: false });

  if (!input.stream) {
    const message: Record<string, unknown> = toolCalls
      ? { role: 'assistant', content: '', tool_calls: toolCalls }
      : { role: 'assistant', content: input.tokens.join('') };
    if (input.thinking) message.thinking = input.thinking.join('');
    const body = JSON.stringify({ ...final, message });
    return { contentType: 'application/json; charset=utf-8', streamed: false, pieces: [body], final: [], garbage: '<html>not json</html>', oversized, flavour: 'ollama' };
  }

  const thinking = (input.thinking ?? []).map((t) => line({ model: input.model, created_at: createdAt, message: { role: 'assistant', content: '', thinking: t }, done: false }));
  const pieces = toolCalls
    ? [...thinking, line({ model: input.model, created_at: createdAt, message: { role: 'assistant', content: '', tool_calls: toolCalls }, done: false })]
    : [...thinking, ...input.tokens.map((t) => line({ model: input.model, created_at: createdAt, message: { role: 'assistant', content: t }, done: false }))];
  return {
    contentType: 'application/x-ndjson',
    streamed: true,
    pieces,
    final: [line(final)],
    garbage: 'this is not json\n<html>nor is this</html>\n',
    oversized,
    flavour: 'ollama',
    streamError,
  };
}

/** `/api/generate`: like chat, with `response` instead of `message` and a `context` at the end. */
export function ollamaGenerateAnswer(input: OllamaAnswerInput): FakeAnswer {
  const createdAt = new Date().toISOString();
  const final = {
    model: input.model,
    created_at: createdAt,
    response: '',
    done: true,
    done_reason: 'stop',
    context: [1, 2, 3],
    ...counts(input.promptTokens, Math.max(1, input.tokens.length)),
  };
  const oversized = (bytes: number) => line({ model: input.model, created_at: createdAt, response: 'x'.repeat(bytes), done: false });
  if (!input.stream) {
    const body = JSON.stringify({ ...final, response: input.tokens.join(''), ...(input.thinking && { thinking: input.thinking.join('') }) });
    return { contentType: 'application/json; charset=utf-8', streamed: false, pieces: [body], final: [], garbage: '<html>not json</html>', oversized, flavour: 'ollama' };
  }
  return {
    contentType: 'application/x-ndjson',
    streamed: true,
    pieces: [
      ...(input.thinking ?? []).map((t) => line({ model: input.model, created_at: createdAt, response: '', thinking: t, done: false })),
      ...input.tokens.map((t) => line({ model: input.model, created_at: createdAt, response: t, done: false })),
    ],
    final: [line(final)],
    garbage: 'this is not json\n',
    oversized,
    flavour: 'ollama',
    streamError,
  };
}

function counts(promptTokens: number, evalCount: number) {
  return {
    total_duration: 1_000_000 + evalCount * NS_PER_TOKEN,
    load_duration: 1_000_000,
    prompt_eval_count: promptTokens,
    prompt_eval_duration: promptTokens * 1_000_000,
    eval_count: evalCount,
    eval_duration: evalCount * NS_PER_TOKEN,
  };
}

/** Ollama ends a stream whose generation failed with one `{"error":"…"}` line (the status is already 200). */
function streamError(message: string): string[] {
  return [line({ error: message })];
}

function line(record: unknown): string {
  return `${JSON.stringify(record)}\n`;
}
