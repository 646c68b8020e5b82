import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { DEFAULT_MAX_LINE_BYTES } from './lineFramer';
import { NodeError } from './nodeError';
import { nodeRequest } from './nodeRequest';
import { splitChunks, ThinkSplitter } from './thinkSplitter';
import type { ChatChunk, ChatMessage, ChatRequest, Endpoint, InferenceClient, ToolCall } from './types';

/** What Harombe 0.3.1's worker assumes when the caller says nothing. */
const DEFAULT_TEMPERATURE = 0.7;

/**
 * Workers of Harombe's original Python release (0.3.1): `POST /api/complete`, one JSON answer, no
 * streaming. That worker answers 500 to a `tools` key or to any message key besides role and
 * content, so the request carries exactly those, and tool traffic is folded into plain text.
 */
export class CompleteClient implements InferenceClient {
  constructor(
    private readonly endpoint: Endpoint,
    private readonly dispatcher: Dispatcher,
  ) {}

  async *chat(request: ChatRequest): AsyncGenerator<ChatChunk> {
    const body = {
      messages: request.messages.map(toPlainMessage),
      temperature: request.temperature ?? DEFAULT_TEMPERATURE,
    };
    const res = await nodeRequest(this.dispatcher, this.endpoint, {
      path: '/api/complete',
      body,
      accept: 'application/json',
      signal: request.signal,
    });
    let raw: Buffer;
    try {
      raw = await res.readAll(this.endpoint.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    } finally {
      res.close();
    }
    const answer = parseAnswer(raw);
    // Harombe 0.3.1 hands on Ollama's content as it is: a reasoning model's `<think>` block included.
    const splitter = new ThinkSplitter();
    yield* splitChunks(splitter.push(answer.content));
    yield* splitChunks(splitter.flush());
    if (answer.toolCalls.length > 0) yield { type: 'tool_calls', calls: answer.toolCalls };
    yield { type: 'done', doneReason: answer.toolCalls.length > 0 ? 'tool_calls' : 'stop' };
  }
}

interface PlainMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

function toPlainMessage(m: ChatMessage): PlainMessage {
  if (m.role === 'tool') {
    // The worker knows no tool role; the model still needs the result and what it answers.
    const what = m.name ?? 'a tool';
    const call = m.tool_call_id ? ` (call ${m.tool_call_id})` : '';
    return { role: 'user', content: `Result of ${what}${call}:\n${m.content}` };
  }
  if (m.role === 'assistant' && m.tool_calls?.length) {
    const calls = m.tool_calls.map((c) => `Called tool ${c.name} with ${JSON.stringify(c.arguments)}`).join('\n');
    return { role: 'assistant', content: m.content ? `${m.content}\n${calls}` : calls };
  }
  return { role: m.role, content: m.content };
}

function parseAnswer(raw: Buffer): { content: string; toolCalls: ToolCall[] } {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new NodeError('protocol', `the node's answer is not JSON: ${JSON.stringify(raw.toString('utf8', 0, 80))}`, { cause: err });
  }
  const answer = json as { content?: unknown; tool_calls?: unknown } | null;
  if (typeof answer !== 'object' || answer === null || typeof answer.content !== 'string') {
    throw new NodeError('protocol', 'the node\'s answer has no "content" string');
  }
  const rawCalls = answer.tool_calls;
  if (rawCalls !== null && rawCalls !== undefined && !Array.isArray(rawCalls)) {
    throw new NodeError('protocol', 'the node\'s "tool_calls" is neither null nor a list');
  }
  return { content: answer.content, toolCalls: (rawCalls ?? []).map(toToolCall) };
}

function toToolCall(raw: unknown): ToolCall {
  const call = raw as { id?: unknown; name?: unknown; arguments?: unknown } | null;
  if (typeof call !== 'object' || call === null || typeof call.name !== 'string' || !call.name) {
    throw new NodeError('protocol', 'the node sent a tool call without a name');
  }
  let args = call.arguments ?? {};
  if (typeof args === 'string') {
    try {
      args = args.trim() === '' ? {} : JSON.parse(args);
    } catch (err) {
      throw new NodeError('protocol', `the arguments of tool call ${call.name} are not JSON`, { cause: err });
    }
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new NodeError('protocol', `the arguments of tool call ${call.name} are not an object`);
  }
  const id = typeof call.id === 'string' && call.id ? call.id : `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  return { id, name: call.name, arguments: args as Record<string, unknown> };
}
