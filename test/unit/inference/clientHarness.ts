import { strict as assert } from 'node:assert';
import { NodeError } from '../../../src/core/inference/nodeError';
import type { NodeErrorKind } from '../../../src/core/inference/nodeError';
import type { ChatChunk, Endpoint, ToolCall } from '../../../src/core/inference/types';

/** Short enough that every stall test ends quickly, long enough not to trip on a loaded CI box. */
export const STALL_MS = 300;

export function endpointFor(baseUrl: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return { baseUrl, stallTimeoutMs: STALL_MS, connectTimeoutMs: 1000, ...overrides };
}

export interface Collected {
  text: string;
  /** The reasoning, from `thinking` chunks and the `thinking` of `wire` chunks. */
  thinking: string;
  deltas: string[];
  toolCalls: ToolCall[];
  done: Extract<ChatChunk, { type: 'done' }> | undefined;
  chunks: ChatChunk[];
  /** The bytes of `wire` chunks, in order. */
  wire: Buffer[];
}

/** Runs a chat stream to its end. */
export async function collect(stream: AsyncIterable<ChatChunk>): Promise<Collected> {
  const out: Collected = { text: '', thinking: '', deltas: [], toolCalls: [], done: undefined, chunks: [], wire: [] };
  for await (const chunk of stream) {
    out.chunks.push(chunk);
    assert.equal(out.done, undefined, 'nothing may follow the done chunk');
    if (chunk.type === 'delta') {
      out.text += chunk.text;
      out.deltas.push(chunk.text);
    } else if (chunk.type === 'thinking') {
      out.thinking += chunk.text;
    } else if (chunk.type === 'tool_calls') {
      out.toolCalls.push(...chunk.calls);
    } else if (chunk.type === 'wire') {
      out.text += chunk.text;
      out.thinking += chunk.thinking ?? '';
      out.deltas.push(chunk.text);
      out.toolCalls.push(...(chunk.calls ?? []));
      out.wire.push(chunk.bytes);
    } else {
      out.done = chunk;
    }
  }
  return out;
}

/** Asserts that running the stream fails with a NodeError of `kind`, and returns it. */
export async function expectNodeError(stream: AsyncIterable<ChatChunk>, kind: NodeErrorKind): Promise<NodeError> {
  try {
    await collect(stream);
  } catch (err) {
    assert.ok(err instanceof NodeError, `expected a NodeError, got ${String(err)}`);
    assert.equal(err.kind, kind, `expected kind ${kind}, got ${err.kind}: ${err.message}`);
    return err;
  }
  assert.fail(`expected a NodeError of kind ${kind}, but the stream completed`);
}

/** Milliseconds `fn` took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}
