import type { FakeAnswer, RouteError } from './fakeServer';
import { jsonAnswer } from './embeddingAnswers';
import { splitTokens } from './fakeReply';

/** A refusal of `/infill`, with llama.cpp's error type (tools/server/utils.hpp format_error_response). */
export interface InfillRefusal extends RouteError {
  type: 'invalid_request_error' | 'not_supported_error';
}

/**
 * llama.cpp's `POST /infill` answer (ggml-org/llama.cpp tools/server/README.md §"POST /infill" and
 * §"POST /completion" for the result fields; validation as in tools/server/server.cpp
 * handle_infill). The request takes `input_prefix`, `input_suffix`, optional `input_extra`
 * (`[{filename, text}]`) and `prompt` (text after FIM_MID), plus the /completion options; the
 * answer is not OpenAI-shaped: `{content, stop, tokens_predicted, tokens_cached, timings, …}`, or
 * with `stream: true` SSE `data: {content, stop:false}` events and a last `stop: true` event, with
 * no `[DONE]`. `n_predict` caps the tokens (`stop_type: "limit"`).
 */
export function llamaCppInfillAnswer(body: unknown, opts: { model: string; fim: (prefix: string, suffix: string) => string; hasFimTokens: boolean }): FakeAnswer | InfillRefusal {
  // The model check comes first in handle_infill, before the body is read.
  if (!opts.hasFimTokens) {
    return { status: 501, type: 'not_supported_error', message: 'Infill is not supported by this model: prefix token is missing. suffix token is missing. middle token is missing. ' };
  }
  const b = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  if (b.prompt !== undefined && typeof b.prompt !== 'string') return { status: 400, type: 'invalid_request_error', message: '"prompt" must be a string' };
  if (!('input_prefix' in b)) return { status: 400, type: 'invalid_request_error', message: '"input_prefix" is required' };
  if (!('input_suffix' in b)) return { status: 400, type: 'invalid_request_error', message: '"input_suffix" is required' };
  const extra = b.input_extra;
  const extraOk = extra === undefined || (Array.isArray(extra) && extra.every((e) => typeof e === 'object' && e !== null && typeof (e as { text?: unknown }).text === 'string'));
  if (!extraOk) return { status: 400, type: 'invalid_request_error', message: '"input_extra" must be an array of {"filename": string, "text": string}' };
  const prefix = String(b.input_prefix ?? '') + (typeof b.prompt === 'string' ? b.prompt : '');
  const suffix = String(b.input_suffix ?? '');
  let tokens = splitTokens(opts.fim(prefix, suffix));
  const limit = typeof b.n_predict === 'number' && b.n_predict >= 0 ? b.n_predict : undefined;
  const limited = limit !== undefined && tokens.length > limit;
  if (limited) tokens = tokens.slice(0, limit);
  const content = tokens.join('');
  const promptN = splitTokens(`${(extra as { text: string }[] | undefined)?.map((e) => e.text).join('') ?? ''}${prefix}${suffix}`).length + 3;
  const timings = { prompt_n: promptN, prompt_ms: promptN * 0.8, prompt_per_token_ms: 0.8, prompt_per_second: 1250, predicted_n: tokens.length, predicted_ms: tokens.length * 14, predicted_per_token_ms: 14, predicted_per_second: 71.4 };
  const last = {
    index: 0,
    content,
    tokens: [],
    id_slot: 0,
    stop: true,
    model: opts.model,
    tokens_predicted: tokens.length,
    tokens_evaluated: promptN,
    has_new_line: content.includes('\n'),
    truncated: false,
    stop_type: limited ? 'limit' : 'eos',
    stopping_word: '',
    tokens_cached: promptN + tokens.length,
    timings,
  };
  if (b.stream !== true) return jsonAnswer(last, 'openai');
  const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
  return {
    contentType: 'text/event-stream',
    streamed: true,
    pieces: tokens.map((t, i) => event({ index: 0, content: t, tokens: [], stop: false, id_slot: -1, tokens_predicted: i + 1, tokens_evaluated: promptN })),
    // The last event carries the whole result with an empty content (it was streamed already).
    final: [event({ ...last, content: '' })],
    garbage: 'data: this is not json\n\n',
    oversized: (bytes) => event({ index: 0, content: 'x'.repeat(bytes), stop: false }),
    flavour: 'openai',
    streamError: (message) => [event({ error: { code: 500, message, type: 'server_error' } })],
  };
}
