import type { DoneEvent } from '../chatEvent';
import type { ToolCall } from '../inference/types';
import type { WireEncoder } from './wireEncoder';

let isoAt = 0;
let isoText = new Date(0).toISOString();

/** `created_at` for every record; one Date per millisecond instead of one per token. */
function nowIso(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/**
 * Ollama's `/api/chat` and `/api/generate` records, byte for byte in the field order Ollama
 * writes them. The constant parts of a record are built once per request.
 */
export class OllamaEncoder implements WireEncoder {
  readonly errorShape = 'ollama' as const;
  // As Ollama: no Cache-Control on its streams.
  readonly streamHeaders = { 'Content-Type': 'application/x-ndjson' };
  private readonly head: string;
  private readonly deltaOpen: string;
  private readonly deltaClose: string;

  constructor(
    private readonly route: 'chat' | 'generate',
    private readonly model: string,
  ) {
    this.head = `{"model":${JSON.stringify(model)},"created_at":"`;
    this.deltaOpen = route === 'chat' ? `","message":{"role":"assistant","content":` : `","response":`;
    this.deltaClose = route === 'chat' ? `},"done":false}\n` : `,"done":false}\n`;
  }

  delta(text: string): string {
    return this.head + nowIso() + this.deltaOpen + JSON.stringify(text) + this.deltaClose;
  }

  /** As Ollama 0.12.5+ streams reasoning: an empty content beside `thinking` (`/api/generate`: beside `response`). */
  thinking(text: string): string {
    const record =
      this.route === 'chat'
        ? `","message":{"role":"assistant","content":"","thinking":${JSON.stringify(text)}},"done":false}\n`
        : `","response":"","thinking":${JSON.stringify(text)},"done":false}\n`;
    return this.head + nowIso() + record;
  }

  toolCalls(calls: readonly ToolCall[]): string {
    if (this.route === 'generate') return '';
    return `${this.head}${nowIso()}","message":{"role":"assistant","content":"","tool_calls":${JSON.stringify(calls.map(toOllamaCall))}},"done":false}\n`;
  }

  done(event: DoneEvent): string {
    return JSON.stringify(this.finalRecord(event, '', undefined)) + '\n';
  }

  streamError(message: string): string {
    return JSON.stringify({ error: message }) + '\n';
  }

  whole(text: string, calls: readonly ToolCall[] | undefined, event: DoneEvent, thinking?: string): string {
    return JSON.stringify(this.finalRecord(event, text, calls, thinking));
  }

  private finalRecord(event: DoneEvent, text: string, calls: readonly ToolCall[] | undefined, thinking?: string): Record<string, unknown> {
    const body: Record<string, unknown> = { model: this.model, created_at: nowIso() };
    if (this.route === 'chat') {
      const message: Record<string, unknown> = { role: 'assistant', content: text };
      if (thinking) message.thinking = thinking;
      if (calls?.length) message.tool_calls = calls.map(toOllamaCall);
      body.message = message;
    } else {
      body.response = text;
      if (thinking) body.thinking = thinking;
    }
    body.done_reason = event.doneReason === 'tool_calls' ? 'stop' : event.doneReason;
    body.done = true;
    const completion = event.tokens.completion ?? 0;
    body.total_duration = Math.round(event.timing.totalMs * 1e6);
    body.load_duration = 0;
    body.prompt_eval_count = event.tokens.prompt ?? 0;
    body.prompt_eval_duration = Math.round(event.timing.ttftMs * 1e6);
    body.eval_count = completion;
    body.eval_duration = event.tokens.perSecond ? Math.round((completion / event.tokens.perSecond) * 1e9) : Math.round((event.timing.totalMs - event.timing.ttftMs) * 1e6);
    return body;
  }
}

function toOllamaCall(c: ToolCall) {
  return { function: { name: c.name, arguments: c.arguments } };
}
