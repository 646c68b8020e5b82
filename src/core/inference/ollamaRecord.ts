import { randomUUID } from 'node:crypto';
import { NodeError } from './nodeError';
import type { ChatChunk, ToolCall } from './types';

/** One NDJSON record of Ollama's `/api/chat` or `/api/generate` answer, before it is trusted. */
export interface OllamaRecord {
  message?: { content?: unknown; thinking?: unknown; tool_calls?: unknown };
  /** `/api/generate`'s reasoning (Ollama 0.12.5+), beside `response`. */
  thinking?: unknown;
  /** `/api/generate` carries the text here instead of in `message`. */
  response?: unknown;
  done?: unknown;
  done_reason?: unknown;
  prompt_eval_count?: unknown;
  eval_count?: unknown;
  eval_duration?: unknown;
  error?: unknown;
}

/** A JSON string's content without escapes or control characters, or with valid escapes only. */
const JSON_STRING_BODY = String.raw`(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*`;
const PLAIN_STRING = String.raw`[^"\\\x00-\x1f]*`;
/**
 * The one record Ollama sends for nearly every token of a chat (`/api/generate` has `response`
 * in place of `message`), exactly as Ollama writes it: no whitespace, these keys in this order.
 * Only text that is valid JSON matches, so a match says all that `JSON.parse` would.
 */
const PLAIN_DELTA = new RegExp(
  String.raw`^\{"model":"${PLAIN_STRING}","created_at":"${PLAIN_STRING}",(?:"message":\{"role":"assistant","content":"(${JSON_STRING_BODY})"\}|"response":"(${JSON_STRING_BODY})"),"done":false\}$`,
);

/**
 * The text of an ordinary streamed record (a token and nothing else), or undefined for any other
 * line, which then goes through `parseRecord`. About four times cheaper than parsing every
 * token's record, for the same result (plainDeltaText.test.ts checks it against `JSON.parse`).
 * A `response` record counts only when `generate` says so (only `/api/generate` sends them).
 */
export function plainDeltaText(line: string, generate: boolean): string | undefined {
  const m = PLAIN_DELTA.exec(line);
  if (!m) return undefined;
  const body = m[1] ?? (generate ? m[2] : undefined);
  if (body === undefined) return undefined;
  return body.includes('\\') ? (JSON.parse(`"${body}"`) as string) : body;
}

export function parseRecord(line: string): OllamaRecord {
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

export function fromOllamaToolCall(raw: unknown): ToolCall {
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

export function finalChunk(record: OllamaRecord): ChatChunk {
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
