import { randomBytes } from 'node:crypto';
import type { DoneEvent } from '../chatEvent';
import type { ToolCall } from '../inference/types';
import type { WireEncoder } from './wireEncoder';

/**
 * OpenAI's `/v1/chat/completions`: `chat.completion.chunk` SSE events ending with `data: [DONE]`,
 * or one `chat.completion` object. The constant parts of a chunk are built once per request.
 */
export class OpenAIEncoder implements WireEncoder {
  readonly errorShape = 'openai' as const;
  readonly streamHeaders = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' };
  private id = `chatcmpl-${randomBytes(12).toString('hex')}`;
  private created = Math.floor(Date.now() / 1000);
  private fingerprint: string | null = 'harombe';
  private head: string;
  private roleSent = false;

  constructor(
    private model: string,
    private readonly includeUsage: boolean,
  ) {
    this.head = this.chunkHead();
  }

  /**
   * The client has been shown a node's own chunks (relayed as they came): what this encoder writes
   * from now on (the rest of the answer from another node after a failover) continues that
   * completion, with its id, creation time, model and fingerprint, and without a second role.
   */
  continueStream(chunk: Readonly<Record<string, unknown>>): void {
    if (typeof chunk.id === 'string') this.id = chunk.id;
    if (typeof chunk.created === 'number' && Number.isFinite(chunk.created)) this.created = chunk.created;
    if (typeof chunk.model === 'string') this.model = chunk.model;
    this.fingerprint = typeof chunk.system_fingerprint === 'string' ? chunk.system_fingerprint : null;
    this.roleSent = true;
    this.head = this.chunkHead();
  }

  delta(text: string): string {
    return `${this.head}{${this.role()}"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** As vLLM and llama.cpp with a reasoning parser stream it; the official clients hand the field on. */
  thinking(text: string): string {
    return `${this.head}{${this.role()}"reasoning_content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  toolCalls(calls: readonly ToolCall[]): string {
    const deltas = calls.map((c, index) => ({ index, id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
    return `${this.head}{${this.role()}"content":null,"tool_calls":${JSON.stringify(deltas)}},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  done(event: DoneEvent, calledTools: boolean): string {
    let out = `${this.head}{},"logprobs":null,"finish_reason":"${finishReason(event, calledTools)}"}]}\n\n`;
    if (this.includeUsage) {
      out += `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, system_fingerprint: this.fingerprint, choices: [], usage: usage(event) })}\n\n`;
    }
    return out + 'data: [DONE]\n\n';
  }

  streamError(message: string): string {
    // The official clients throw an APIError for an event that carries `error`.
    return `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: 'node_failed' } })}\n\n`;
  }

  whole(text: string, calls: readonly ToolCall[] | undefined, event: DoneEvent, thinking?: string): string {
    const called = Boolean(calls?.length);
    const message: Record<string, unknown> = { role: 'assistant', content: called && text === '' ? null : text, refusal: null };
    if (thinking) message.reasoning_content = thinking;
    if (called) message.tool_calls = calls?.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
    return JSON.stringify({
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      system_fingerprint: this.fingerprint,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(event, called) }],
      usage: usage(event),
    });
  }

  private chunkHead(): string {
    return `data: {"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(this.model)},"system_fingerprint":${JSON.stringify(this.fingerprint)},"choices":[{"index":0,"delta":`;
  }

  private role(): string {
    if (this.roleSent) return '';
    this.roleSent = true;
    return '"role":"assistant",';
  }
}

function finishReason(event: DoneEvent, calledTools: boolean): string {
  if (calledTools) return 'tool_calls';
  return event.doneReason === 'length' ? 'length' : 'stop';
}

function usage(event: DoneEvent) {
  const prompt = event.tokens.prompt ?? 0;
  const completion = event.tokens.completion ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
