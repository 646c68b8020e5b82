import { HttpError } from './gatewayHttp';

/**
 * Numbers are checked at the edge, before routing: `JSON.parse` turns 1e309 into Infinity, a node
 * asked for a 1e9-token window tries to allocate it, and a negative token budget means something
 * else to every server. A bad value is a 400 naming the field, in the API's error shape.
 */

interface Range {
  min: number;
  max: number;
  integer?: boolean;
}

/** The longest window any model Ollama runs is trained for is 1M tokens; twice that leaves room and still refuses 1e9. */
const MAX_TOKENS = 2 ** 21;

/** Ollama's `options` (its Modelfile parameters). num_predict: -1 is "no limit", -2 "fill the window". */
const OLLAMA_OPTIONS: Record<string, Range> = {
  temperature: { min: 0, max: 10 },
  num_ctx: { min: 1, max: MAX_TOKENS, integer: true },
  num_predict: { min: -2, max: MAX_TOKENS, integer: true },
  num_keep: { min: -1, max: MAX_TOKENS, integer: true },
  num_batch: { min: 1, max: MAX_TOKENS, integer: true },
  num_gpu: { min: -1, max: 10_000, integer: true },
  num_thread: { min: 0, max: 10_000, integer: true },
  top_k: { min: 0, max: 1_000_000, integer: true },
  top_p: { min: 0, max: 1 },
  min_p: { min: 0, max: 1 },
  typical_p: { min: 0, max: 1 },
  repeat_last_n: { min: -1, max: MAX_TOKENS, integer: true },
  repeat_penalty: { min: 0, max: 10 },
  presence_penalty: { min: -10, max: 10 },
  frequency_penalty: { min: -10, max: 10 },
  seed: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, integer: true },
};

/** OpenAI's documented ranges for chat completions. */
const OPENAI_FIELDS: Record<string, Range> = {
  temperature: { min: 0, max: 2 },
  top_p: { min: 0, max: 1 },
  max_tokens: { min: 1, max: MAX_TOKENS, integer: true },
  max_completion_tokens: { min: 1, max: MAX_TOKENS, integer: true },
  n: { min: 1, max: 128, integer: true },
  presence_penalty: { min: -2, max: 2 },
  frequency_penalty: { min: -2, max: 2 },
  seed: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, integer: true },
  top_logprobs: { min: 0, max: 20, integer: true },
};

/** `/cluster/execute`'s `timeout`, seconds: 0.1 at least, an hour at most (1e7 s overflows setTimeout, which then fires at once). */
export const EXECUTE_TIMEOUT: Range = { min: 0.1, max: 3600 };

export function checkNumber(field: string, value: unknown, range: Range): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new HttpError(400, `"${field}" must be a finite number.`);
  if (range.integer && !Number.isInteger(value)) throw new HttpError(400, `"${field}" must be a whole number.`);
  if (value < range.min || value > range.max) throw new HttpError(400, `"${field}" must be between ${range.min} and ${range.max}; got ${value}.`);
}

/** Ollama `/api/chat` and `/api/generate`: `options` an object of parameters, each in its range; no number anywhere in it infinite. */
export function checkOllamaNumbers(body: Record<string, unknown>): void {
  const options = body.options;
  if (options === undefined || options === null) return;
  if (typeof options !== 'object' || Array.isArray(options)) throw new HttpError(400, '"options" must be an object.');
  for (const [key, value] of Object.entries(options as Record<string, unknown>)) {
    const range = OLLAMA_OPTIONS[key];
    if (range) checkNumber(`options.${key}`, value, range);
    else if (typeof value === 'number' && !Number.isFinite(value)) throw new HttpError(400, `"options.${key}" must be a finite number.`);
  }
}

/** OpenAI `/v1/chat/completions`: the sampling and length fields in OpenAI's ranges. */
export function checkOpenAiNumbers(body: Record<string, unknown>): void {
  for (const [key, range] of Object.entries(OPENAI_FIELDS)) checkNumber(key, body[key], range);
}
