import { randomUUID } from 'node:crypto';
import * as z from 'zod';

/**
 * `POST /api/complete` as Harombe's Python release (0.3.1) speaks it: its coordinator's
 * RemoteLLMClient sends the whole conversation and gets one JSON answer back. Our workers serve it
 * so that coordinator can use them unchanged; it is translated to one non-streaming Ollama
 * `/api/chat` call.
 */

const pythonToolCallSchema = z.object({
  id: z.string().nullish(),
  name: z.string().min(1),
  // Python sends a dict; other clients of this route have been seen sending the JSON string.
  arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).nullish(),
});

const pythonMessageSchema = z.object({
  role: z.string().min(1),
  content: z.string().nullish(),
  tool_calls: z.array(pythonToolCallSchema).nullish(),
  tool_call_id: z.string().nullish(),
  name: z.string().nullish(),
});

const completeRequestSchema = z.object({
  messages: z.array(pythonMessageSchema).min(1),
  // OpenAI function format, which Ollama accepts as it is: passed through untouched.
  tools: z.array(z.unknown()).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  max_tokens: z.number().int().positive().nullish(),
});

export type CompleteRequest = z.infer<typeof completeRequestSchema>;

/** What the Python client reads: `content` and `tool_calls`; `finish_reason` it reads when present. */
export interface CompleteResponse {
  content: string;
  tool_calls: { id: string; name: string; arguments: Record<string, unknown> }[] | null;
  finish_reason: string;
}

/** FastAPI's error shape, which the Python client would show as it is. */
export interface CompleteError {
  detail: string;
}

/** The transport: one POST of JSON to the worker's Ollama. Throws when Ollama cannot be reached. */
export type OllamaPost = (path: string, body: unknown, signal: AbortSignal) => Promise<{ statusCode: number; json: unknown }>;

export interface CompleteContext {
  /** The model this worker serves (already resolved when the config says `auto`). */
  model: string;
  /** Used when the request has none; the Python client always sends one. */
  defaultTemperature: number;
  post: OllamaPost;
  signal: AbortSignal;
}

interface OllamaToolCall {
  id?: string;
  function?: { name?: string; arguments?: unknown };
}

interface OllamaChatResponse {
  message?: { content?: string; tool_calls?: OllamaToolCall[] };
  done_reason?: string;
  error?: string;
}

/** Runs one `/api/complete` request; never throws, every failure is an HTTP status with a `detail`. */
export async function handleComplete(
  rawBody: unknown,
  ctx: CompleteContext,
): Promise<{ statusCode: number; body: CompleteResponse | CompleteError }> {
  const parsed = completeRequestSchema.safeParse(rawBody);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') + ': ' : '';
    return { statusCode: 422, body: { detail: `invalid request: ${where}${issue?.message ?? 'malformed body'}` } };
  }
  const req = parsed.data;
  const options: Record<string, number> = { temperature: req.temperature ?? ctx.defaultTemperature };
  if (req.max_tokens) options.num_predict = req.max_tokens;
  const ollamaBody: Record<string, unknown> = {
    model: ctx.model,
    messages: req.messages.map(toOllamaMessage),
    stream: false,
    options,
  };
  if (req.tools?.length) ollamaBody.tools = req.tools;

  let answer: { statusCode: number; json: unknown };
  try {
    answer = await ctx.post('/api/chat', ollamaBody, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) return { statusCode: 499, body: { detail: 'client closed the request' } };
    const timedOut = /timeout/i.test((err as Error).name) || /timeout/i.test((err as Error).message);
    return timedOut
      ? { statusCode: 504, body: { detail: 'ollama did not answer in time' } }
      : { statusCode: 503, body: { detail: 'ollama unreachable' } };
  }
  const json = (answer.json ?? {}) as OllamaChatResponse;
  if (answer.statusCode < 200 || answer.statusCode >= 300) {
    return { statusCode: 502, body: { detail: `ollama: ${json.error ?? `HTTP ${answer.statusCode}`}` } };
  }
  const calls = (json.message?.tool_calls ?? []).filter((c) => c.function?.name).map(fromOllamaToolCall);
  return {
    statusCode: 200,
    body: {
      content: json.message?.content ?? '',
      tool_calls: calls.length ? calls : null,
      finish_reason: calls.length ? 'tool_calls' : (json.done_reason ?? 'stop'),
    },
  };
}

function toOllamaMessage(m: z.infer<typeof pythonMessageSchema>): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content ?? '' };
  if (m.tool_calls?.length) {
    out.tool_calls = m.tool_calls.map((c) => ({ function: { name: c.name, arguments: parseArguments(c.arguments) } }));
  }
  // Ollama matches tool results to calls by the tool's name, not by an id.
  if (m.role === 'tool' && m.name) out.tool_name = m.name;
  return out;
}

function fromOllamaToolCall(c: OllamaToolCall): { id: string; name: string; arguments: Record<string, unknown> } {
  return {
    // Ollama gives no ids (older releases) or its own; the Python client needs one to pair the result.
    id: c.id || `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    name: c.function?.name ?? '',
    arguments: parseArguments(c.function?.arguments),
  };
}

function parseArguments(args: unknown): Record<string, unknown> {
  if (typeof args === 'string') {
    try {
      const v: unknown = JSON.parse(args);
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return args && typeof args === 'object' && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
}
