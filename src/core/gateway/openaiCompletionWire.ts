import { randomBytes } from 'node:crypto';
import type { DoneEvent } from '../chatEvent';
import type { WireEncoder } from './wireEncoder';

/**
 * OpenAI's legacy `/v1/completions`: `text_completion` SSE events ending with `data: [DONE]`, or
 * one `text_completion` object, as OpenAI and Ollama's `/v1/completions` send them.
 */
export class OpenAICompletionEncoder implements WireEncoder {
  readonly errorShape = 'openai' as const;
  readonly streamHeaders = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' };
  private readonly id = `cmpl-${randomBytes(12).toString('hex')}`;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly model: string,
    private readonly includeUsage: boolean,
  ) {}

  delta(text: string): string {
    return this.event([{ text, index: 0, logprobs: null, finish_reason: null }]);
  }

  /** A text completion has no field for reasoning: a reasoning node's draft is left out of it. */
  thinking(): string {
    return '';
  }

  /** A text completion has no tool calls; nodes are never offered tools for one. */
  toolCalls(): string {
    return '';
  }

  done(event: DoneEvent): string {
    let out = this.event([{ text: '', index: 0, logprobs: null, finish_reason: finishReason(event) }]);
    if (this.includeUsage) out += `data: ${JSON.stringify({ ...this.head(), choices: [], usage: usage(event) })}\n\n`;
    return out + 'data: [DONE]\n\n';
  }

  streamError(message: string): string {
    return `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: 'node_failed' } })}\n\n`;
  }

  whole(text: string, _calls: unknown, event: DoneEvent): string {
    return JSON.stringify({ ...this.head(), choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason(event) }], usage: usage(event) });
  }

  private head() {
    return { id: this.id, object: 'text_completion', created: this.created, model: this.model, system_fingerprint: 'harombe' };
  }

  private event(choices: unknown[]): string {
    return `data: ${JSON.stringify({ ...this.head(), choices })}\n\n`;
  }
}

function finishReason(event: DoneEvent): string {
  return event.doneReason === 'length' ? 'length' : 'stop';
}

function usage(event: DoneEvent) {
  const prompt = event.tokens.prompt ?? 0;
  const completion = event.tokens.completion ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
