import { createHash, randomBytes } from 'node:crypto';
import type { FakeAnswer, RouteError } from './fakeServer';
import type { FakeReply } from './fakeReply';
import { fakeReply, splitTokens } from './fakeReply';

/** Dimensions of a fake vector: small, so tests can compare whole vectors. */
export const FAKE_DIMENSIONS = 8;

/**
 * A deterministic vector for `text` under `model` (a hash of both), so a test can tell which
 * model embedded which input, in which order. `normalise` as Ollama's `/api/embed` and the
 * `/v1/embeddings` routes do; the older `/api/embeddings` answers the raw vector (Ollama
 * server/routes.go: EmbedHandler normalises, EmbeddingsHandler does not).
 */
export function fakeVector(model: string, text: string, normalise = true): number[] {
  const hash = createHash('sha256').update(`${model}\n${text}`).digest();
  const raw = Array.from({ length: FAKE_DIMENSIONS }, (_, i) => (hash.readUInt16BE(i * 2) - 32768) / 4096);
  if (!normalise) return raw;
  const norm = Math.sqrt(raw.reduce((s, x) => s + x * x, 0)) || 1;
  // Rounded through float32, as the servers hold vectors.
  return raw.map((x) => Math.fround(x / norm));
}

/** Whole-JSON answer in the fault machinery's terms, so fault switches apply to embeddings too. */
export function jsonAnswer(body: unknown, flavour: 'ollama' | 'openai'): FakeAnswer {
  const text = JSON.stringify(body);
  return {
    contentType: 'application/json; charset=utf-8',
    streamed: false,
    pieces: [text],
    final: [],
    garbage: '<html>not json</html>',
    oversized: (bytes) => JSON.stringify({ ...(body as object), padding: 'x'.repeat(bytes) }),
    flavour,
  };
}

/** Inputs as Ollama's `/api/embed` and the OpenAI API take them: a string or a list of strings. */
function inputsOf(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return [];
  if (typeof raw === 'string') return raw === '' ? [] : [raw];
  if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw as string[];
  return undefined;
}

/**
 * Ollama's `POST /api/embed` (docs/api.md "Generate Embeddings"): `{model, embeddings,
 * total_duration, load_duration, prompt_eval_count}`; `400 invalid input type` for anything but
 * strings (server/routes.go EmbedHandler).
 */
export function ollamaEmbedAnswer(body: Record<string, unknown>, model: string): FakeAnswer | RouteError {
  const input = inputsOf(body.input);
  if (!input) return { status: 400, message: 'invalid input type' };
  const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? body.dimensions : undefined;
  const embeddings = input.map((t) => shorten(fakeVector(model, t), dims));
  return jsonAnswer({ model, embeddings, total_duration: 14_143_917, load_duration: 1_019_500, prompt_eval_count: words(input) }, 'ollama');
}

/** Ollama's older `POST /api/embeddings`: `{prompt}` in, `{embedding}` out, not normalised; an empty prompt answers `[]`. */
export function ollamaLegacyEmbeddingAnswer(body: Record<string, unknown>, model: string): FakeAnswer {
  const prompt = typeof body.prompt === 'string' ? body.prompt : '';
  return jsonAnswer({ embedding: prompt === '' ? [] : fakeVector(model, prompt, false) }, 'ollama');
}

/**
 * `POST /v1/embeddings` as OpenAI documents it (API reference "Create embeddings"), and as
 * Ollama's `/v1` (openai/openai.go ToEmbeddingList, base64 since 0.12.7) and llama.cpp's server
 * answer it: `{object: "list", data: [{object: "embedding", embedding, index}], model, usage}`;
 * `encoding_format: "base64"` sends each vector as little-endian float32 bytes in base64.
 */
export function openaiEmbeddingAnswer(body: Record<string, unknown>, model: string): FakeAnswer | RouteError {
  const input = inputsOf(body.input);
  if (!input) return { status: 400, message: 'invalid input type' };
  if (input.length === 0) return { status: 400, message: 'invalid input' };
  const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? body.dimensions : undefined;
  const base64 = body.encoding_format === 'base64';
  const data = input.map((t, index) => {
    const v = shorten(fakeVector(model, t), dims);
    return { object: 'embedding', embedding: base64 ? Buffer.from(Float32Array.from(v).buffer).toString('base64') : v, index };
  });
  const tokens = words(input);
  return jsonAnswer({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }, 'openai');
}

/**
 * The legacy `POST /v1/completions` as OpenAI documents it and Ollama's `/v1` sends it
 * (openai/openai.go toCompletion / toCompleteChunk): `text_completion` objects, streamed as SSE
 * `data:` events with `choices[].text`, a last chunk with `finish_reason`, the usage chunk when
 * `stream_options.include_usage`, then `data: [DONE]`. The text is the fake's reply to the prompt.
 */
export function openaiTextCompletionAnswer(body: Record<string, unknown>, opts: { models: string[]; acceptAnyModel: boolean; reply?: FakeReply }): FakeAnswer | RouteError {
  if (typeof body.model !== 'string' || body.model === '') return { status: 400, message: 'model is required' };
  if (!opts.acceptAnyModel && !opts.models.includes(body.model)) return { status: 404, message: `model "${body.model}" not found, try pulling it first` };
  const prompt = typeof body.prompt === 'string' ? body.prompt : '';
  const suffix = typeof body.suffix === 'string' ? body.suffix : '';
  const model = body.model;
  const text = fakeReply(opts.reply, [{ role: 'user', content: suffix ? `${prompt}<FILL>${suffix}` : prompt }], model);
  const tokens = splitTokens(text);
  const id = `cmpl-${randomBytes(6).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const head = { id, object: 'text_completion', created, model, system_fingerprint: 'fp_fake' };
  const usage = { prompt_tokens: Math.max(1, prompt.split(/\s+/).filter(Boolean).length), completion_tokens: Math.max(1, tokens.length), total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
  const oversized = (bytes: number) => event({ ...head, choices: [{ text: 'x'.repeat(bytes), index: 0, finish_reason: null }] });
  if (body.stream !== true) {
    return { ...jsonAnswer({ ...head, choices: [{ text, index: 0, logprobs: null, finish_reason: 'stop' }], usage }, 'openai'), oversized };
  }
  const pieces = tokens.map((t) => event({ ...head, choices: [{ text: t, index: 0, logprobs: null, finish_reason: null }] }));
  pieces.push(event({ ...head, choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'stop' }] }));
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  if (streamOptions?.include_usage === true) pieces.push(event({ ...head, choices: [], usage }));
  return {
    contentType: 'text/event-stream; charset=utf-8',
    streamed: true,
    pieces,
    final: ['data: [DONE]\n\n'],
    garbage: 'data: this is not json\n\n',
    oversized,
    flavour: 'openai',
    streamError: (message) => [event({ error: { message, type: 'server_error', param: null, code: 500 } }), 'data: [DONE]\n\n'],
  };
}

function shorten(v: number[], dims: number | undefined): number[] {
  if (dims === undefined || dims >= v.length) return v;
  const cut = v.slice(0, dims);
  const norm = Math.sqrt(cut.reduce((s, x) => s + x * x, 0)) || 1;
  return cut.map((x) => Math.fround(x / norm));
}

function words(input: string[]): number {
  return input.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
}
