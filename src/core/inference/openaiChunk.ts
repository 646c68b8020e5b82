import { NodeError } from './nodeError';

/** One `data:` event of an OpenAI-compatible `/v1/chat/completions` stream, before it is trusted. */
export interface OpenAIChunk {
  choices?: unknown;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  timings?: { predicted_ms?: unknown } | null;
  error?: unknown;
}

export interface OpenAIChoice {
  index?: unknown;
  delta?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: unknown } | null;
  finish_reason?: unknown;
}

export function parseChunk(data: string): OpenAIChunk {
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch (err) {
    throw new NodeError('protocol', `the node sent an event that is not JSON: ${JSON.stringify(data.slice(0, 80))}`, { cause: err });
  }
  if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) {
    throw new NodeError('protocol', `the node sent an event that is not a JSON object: ${JSON.stringify(data.slice(0, 80))}`);
  }
  return chunk as OpenAIChunk;
}

/** The `error` of an in-band error event (vLLM sends `{error: {message}}`, others a string), for a message. */
export function describeError(error: unknown): string {
  const message = typeof error === 'string' ? error : (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message.slice(0, 200) : 'unknown error';
}

export function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * A delta's reasoning: `reasoning_content` (vLLM and llama.cpp with a reasoning parser, DeepSeek's
 * API) or `reasoning` (Ollama's `/v1` since 0.12.5, vLLM since 0.10 as an alias, OpenRouter).
 */
export function reasoningOf(delta: NonNullable<OpenAIChoice['delta']>): string | undefined {
  const text = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : delta.reasoning;
  return typeof text === 'string' && text.length > 0 ? text : undefined;
}
