import type { CancelSignal } from '../util/canceller';
/** Wire-neutral chat types shared by every inference client, the coordinator and the UIs. */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  /** Ollama has no call ids; clients make one up so tool results can refer back to it. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** On assistant messages that asked for tools. */
  tool_calls?: ToolCall[];
  /** On tool messages: the call this answers. */
  tool_call_id?: string;
  /** On tool messages: the tool's name (Ollama wants `tool_name`, OpenAI wants the id). */
  name?: string;
}

/** A tool the model may call, in the JSON-schema form both Ollama and OpenAI accept. */
export interface ToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  temperature?: number;
  /**
   * Ollama's `think` field: true asks a reasoning model to reason, false asks it not to; absent
   * leaves the model's default. Only Ollama's API takes it (see `ThinkSetting`).
   */
  think?: boolean;
  /**
   * The context window to run the model with, in tokens: Ollama's `options.num_ctx` (sent with
   * `truncate: false`, so an overflow is refused instead of cut). Other protocols ignore it.
   */
  numCtx?: number;
  /** Aborting cancels the request on the node (the HTTP request is torn down). An AbortSignal, or the gateway's `Canceller`. */
  signal?: CancelSignal;
  /** Relay this client request instead of building one from `messages` (wire clients only). */
  wire?: WireRequest;
  /**
   * Asks the node for this instead of a chat turn (`messages` is then empty). Only the clients
   * made for such work read it (`TextCompletionClient`, `EmbeddingClient`).
   */
  work?: NodeWork;
}

/**
 * A raw text completion: the prompt as it is, without a chat template, and where the model fills
 * in the middle, the text after the cursor (`suffix`). Autocomplete sends these.
 */
export interface TextCompletionWork {
  kind: 'completion';
  prompt: string;
  suffix?: string;
  maxTokens?: number;
  stop?: string[];
  topP?: number;
  seed?: number;
}

/**
 * Embeddings of every input, answered in the inputs' order. `legacy` is Ollama's older
 * `/api/embeddings` (one prompt; vectors not normalised), asked of Ollama nodes as such.
 */
export interface EmbeddingWork {
  kind: 'embedding';
  input: string[];
  legacy?: boolean;
  /** Shorten each vector to this many dimensions, where the model and server allow it. */
  dimensions?: number;
  /** Ollama's `truncate`: false makes an input longer than the window an error instead of cut. */
  truncate?: boolean;
}

/** Work other than a chat turn that a node is asked for. */
export type NodeWork = TextCompletionWork | EmbeddingWork;

/**
 * A gateway client's own request, for a node that speaks the client's API: its body goes to the
 * node as it came (every option the client set, only `model` and `stream` replaced) and the
 * node's records come back as bytes (`wire` chunks) to be forwarded without re-encoding.
 */
export interface WireRequest {
  protocol: 'ollama' | 'openai';
  /** `/api/chat`, `/api/generate` or `/v1/chat/completions`. */
  path: string;
  body: Readonly<Record<string, unknown>>;
  /**
   * Told once, just before the first bytes of a node's answer are handed on, the first record of
   * that answer (its parsed JSON object). If that node fails later, the rest of the answer comes
   * re-encoded from another node; an OpenAI stream must stay one completion (same id, model and
   * created), so the gateway's encoder continues the relayed stream's identity instead of its own.
   */
  onRelayStart?(record: Readonly<Record<string, unknown>>): void;
}

export type ChatChunk =
  | { type: 'delta'; text: string }
  /** Reasoning the model did before (or between) its answer: never part of the answer text. */
  | { type: 'thinking'; text: string }
  | { type: 'tool_calls'; calls: ToolCall[] }
  | WireChunk
  | {
      type: 'done';
      /** `stop`, `length`, `tool_calls` … as the node reported it. */
      doneReason: string;
      promptTokens?: number;
      completionTokens?: number;
      /** Generation time the node reported (Ollama's eval_duration), for tokens/s. */
      evalMs?: number;
      /** For a `WireRequest`: the node's closing record(s), as it sent them. */
      wire?: Buffer;
      /** For `EmbeddingWork`: one vector per input, in the inputs' order. */
      embeddings?: number[][];
    };

/** Whole records of a `WireRequest`'s answer as the node sent them, and what they say. */
export interface WireChunk {
  type: 'wire';
  bytes: Buffer;
  /** The answer text these records carry (possibly empty). */
  text: string;
  /** The reasoning these records carry (Ollama's `thinking`, OpenAI-compatible `reasoning_content`), when any. */
  thinking?: string;
  /** Tool calls completed in these records. */
  calls?: ToolCall[];
}

/** The wire protocol a node's chat runs over; picks the client in `createInferenceClient`. */
export type InferenceProtocol = 'ollama' | 'openai' | 'complete';

/** Where and how to reach one node's chat API. */
export interface Endpoint {
  /** `http://host:port` without a trailing slash. */
  baseUrl: string;
  /** Bearer token, sent as `Authorization: Bearer …` when present. */
  token?: string;
  /** Longest silence allowed between bytes of an answer (and before the first byte), in ms. */
  stallTimeoutMs: number;
  /** Longest time to open the connection, in ms. */
  connectTimeoutMs: number;
  /** Longest NDJSON / SSE line (or whole JSON answer) accepted, in bytes; 1 MiB when absent. */
  maxLineBytes?: number;
}

/**
 * Takes an answer's chunks as they arrive. Returning a promise holds back the next chunk until it
 * settles: that is how a slow reader (a gateway client) slows the node down.
 */
export type ChunkSink = (chunk: ChatChunk) => void | Promise<void>;

/** One protocol's client (Ollama /api/chat, OpenAI /v1/chat/completions, Harombe 0.3.1 /api/complete). */
export interface InferenceClient {
  /**
   * Streams one answer. Every failure of the node (refused, timeout, stall, HTTP error, malformed
   * or oversized line, stream ended without its final record) is thrown as a `NodeError`; a
   * cancellation through `signal` is thrown as a `NodeError` of kind `aborted`.
   */
  chat(request: ChatRequest): AsyncIterable<ChatChunk>;
  /**
   * The same answer pushed into `sink`, resolving after the final chunk; the same failures reject.
   * Optional: a client on the gateway's hot path implements it to skip an async iterator per
   * chunk and layer.
   */
  stream?(request: ChatRequest, sink: ChunkSink): Promise<void>;
}
