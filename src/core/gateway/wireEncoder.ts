import type { DoneEvent } from '../chatEvent';
import type { ToolCall } from '../inference/types';
import type { ErrorShape } from './gatewayHttp';

/**
 * One API's wire format for an answer, streamed or whole. Streamed pieces are whole records
 * (an NDJSON line, an SSE event) so the relay can write each one as it comes.
 */
export interface WireEncoder {
  readonly errorShape: ErrorShape;
  /** The stream's own headers (content type; cache control where the API sends it). */
  readonly streamHeaders: Readonly<Record<string, string>>;
  delta(text: string): string;
  /** A piece of reasoning, in the API's own field (`thinking` for Ollama, `reasoning_content` for OpenAI). */
  thinking(text: string): string;
  toolCalls(calls: readonly ToolCall[]): string;
  /** The closing record(s) of a stream. */
  done(event: DoneEvent, calledTools: boolean): string;
  /** An in-band error that ends a stream whose headers are already sent. */
  streamError(message: string): string;
  /** The body of a `stream: false` answer. */
  whole(text: string, calls: readonly ToolCall[] | undefined, event: DoneEvent, thinking?: string): string;
}
