import type { ToolCall } from './inference/types';
import type { Tier } from './routing/classification';

/**
 * What `Coordinator.chat()` streams. The CLI's `--json` prints these objects one per line, the chat
 * webview renders them, the gateway maps them to Ollama/OpenAI wire formats.
 */
export type ChatEvent = RouteEvent | ThinkingEvent | DeltaEvent | ToolCallsEvent | WireEvent | FallbackEvent | DoneEvent | ErrorEvent;

export interface RouteEvent {
  type: 'route';
  /** The tier the classifier (or the user) asked for. */
  requestedTier: Tier;
  /** The tier of the node that was picked (differs from requestedTier after a fallback at routing time). */
  tier: Tier;
  node: string;
  model: string;
  /** True when the user chose the tier; then `reasons` says so instead of the classifier's reasons. */
  forced: boolean;
  /** Why this tier (classifier reasons, most decisive first) and why this node. */
  reasons: string[];
  nodeReason: string;
  /**
   * The request's size against the node's window, in tokens: the prompt's estimate, what it needs
   * with the answer's reserve, and the window; `omitted` when older messages were left out to fit.
   */
  context?: { promptTokens: number; needTokens: number; window: number; omitted?: { turns: number; toolResults: number } };
}

/**
 * Reasoning a model streams before its answer (a `<think>` block, Ollama's `thinking`,
 * `reasoning_content`). Never part of the answer: code actions, the agent and the history read
 * only `delta`. After a `fallback` with `discardPartial`, the reasoning shown so far is dropped too.
 */
export interface ThinkingEvent {
  type: 'thinking';
  text: string;
}

export interface DeltaEvent {
  type: 'delta';
  text: string;
}

export interface ToolCallsEvent {
  type: 'tool_calls';
  calls: ToolCall[];
}

/**
 * Only for a request with `wire` (the gateway), from a node that speaks the client's API: whole
 * records as the node sent them, to forward as they are, and the text and tool calls they carry.
 */
export interface WireEvent {
  type: 'wire';
  bytes: Buffer;
  text: string;
  /** The reasoning these records carry, when any. */
  thinking?: string;
  calls?: ToolCall[];
}

export interface FallbackEvent {
  type: 'fallback';
  from: string;
  to: string;
  /** Tier of the node taking over. */
  tier: Tier;
  reason: string;
  /** True when part of an answer was already streamed: the UI must drop it, the new node starts over. */
  discardPartial: boolean;
}

export interface DoneEvent {
  type: 'done';
  node: string;
  tier: Tier;
  model: string;
  doneReason: string;
  /** Milliseconds from the request to the first token, and to the end, on the node that answered. */
  timing: {
    ttftMs: number;
    totalMs: number;
    fallbacks: number;
    /** Milliseconds the answering node spent reasoning (first to last reasoning token), when it reasoned. */
    thinkingMs?: number;
  };
  tokens: { prompt?: number; completion?: number; perSecond?: number };
  /** After `wire` events: the node's closing record(s) as it sent them. */
  wire?: Buffer;
  /** For an embedding request: one vector per input, in the inputs' order. */
  embeddings?: number[][];
  /**
   * The node read far fewer prompt tokens than were sent (an older Ollama cutting an overflowing
   * prompt silently): the answer is not based on the whole prompt, and the UIs say so.
   */
  truncated?: { promptTokens: number; estimatedTokens: number };
}

export interface ErrorEvent {
  type: 'error';
  /**
   * `no_node` nothing eligible; `all_failed` every candidate failed; `invalid_request` the request
   * itself cannot be sent to any node (no node was blamed); `cluster_busy` every node turned it
   * away as full for as long as it may wait (no node was blamed); `too_large` no node's window holds
   * the request (nothing was sent, or the only node that took it refused it as too long);
   * `cancelled` the caller aborted.
   */
  code: 'no_node' | 'all_failed' | 'invalid_request' | 'cluster_busy' | 'too_large' | 'cancelled';
  message: string;
  attempts: { node: string; reason: string }[];
}
