import { randomBytes } from 'node:crypto';
import type { FakeAnswer, RouteError } from './fakeServer';
import type { FakeMessage, FakeReasoning, FakeReply, FakeToolCall } from './fakeReply';
import { fakeReply } from './fakeReply';

const ALLOWED_BODY_KEYS = new Set(['messages', 'temperature']);
const ALLOWED_MESSAGE_KEYS = new Set(['role', 'content']);

/**
 * `POST /api/complete` as Harombe 0.3.1's Python worker serves it: exactly
 * `{"messages":[{"role","content"}],"temperature"}` in, `{"content","tool_calls"}` out, one JSON.
 * That worker builds its request objects with keyword arguments, so any key it does not know
 * (`tools`, `tool_calls` on a message …) blows up into a 500 with FastAPI's `{"detail"}`;
 * malformed types are FastAPI's own 422.
 */
export function answerHarombeComplete(
  body: unknown,
  opts: { model: string; reply?: FakeReply; toolCalls?: FakeToolCall[]; reasoning?: FakeReasoning },
): FakeAnswer | RouteError {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { status: 422, message: 'body: Input should be a valid dictionary' };
  }
  for (const key of Object.keys(body)) {
    if (!ALLOWED_BODY_KEYS.has(key)) {
      return { status: 500, message: `Completion failed: CompletionRequest.__init__() got an unexpected keyword argument '${key}'` };
    }
  }
  const b = body as { messages?: unknown; temperature?: unknown };
  if (!Array.isArray(b.messages)) return { status: 422, message: 'body.messages: Field required' };
  if (b.temperature !== undefined && typeof b.temperature !== 'number') {
    return { status: 422, message: 'body.temperature: Input should be a valid number' };
  }
  for (const m of b.messages as unknown[]) {
    if (typeof m !== 'object' || m === null) return { status: 422, message: 'body.messages: Input should be a valid dictionary' };
    for (const key of Object.keys(m)) {
      if (!ALLOWED_MESSAGE_KEYS.has(key)) {
        return { status: 500, message: `Completion failed: Message.__init__() got an unexpected keyword argument '${key}'` };
      }
    }
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || typeof content !== 'string') {
      return { status: 422, message: 'body.messages: role and content must be strings' };
    }
  }
  const messages = b.messages as FakeMessage[];
  const toolCalls = opts.toolCalls?.length
    ? opts.toolCalls.map((c) => ({ id: c.id ?? `call_${randomBytes(8).toString('hex')}`, name: c.name, arguments: c.arguments }))
    : null;
  let text = toolCalls ? '' : fakeReply(opts.reply, messages, opts.model);
  // That worker hands on Ollama's `message.content` only: a `<think>` block in it stays, a
  // `thinking` field is lost.
  if (!toolCalls && opts.reasoning?.in === 'content') text = `<think>\n${opts.reasoning.text}\n</think>\n\n${text}`;
  return {
    contentType: 'application/json',
    streamed: false,
    pieces: [JSON.stringify({ content: text, tool_calls: toolCalls })],
    final: [],
    garbage: '<html><body>Internal Server Error</body></html>',
    oversized: (bytes) => JSON.stringify({ content: 'x'.repeat(bytes), tool_calls: null }),
    flavour: 'fastapi',
  };
}
