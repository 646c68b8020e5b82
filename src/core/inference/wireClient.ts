import type { Dispatcher } from 'undici';
import { sinkIterable } from '../util/sinkIterable';
import type { ChatChunk, ChatRequest, ChunkSink, Endpoint, InferenceClient } from './types';

/**
 * A client that relays a gateway client's request to a node as it came (see `WireRequest`):
 * `stream()` is its real implementation, pushed on the gateway's hot path; `chat()` is the same
 * answer as an async iterable, for callers that want one.
 */
export abstract class WireClient implements InferenceClient {
  constructor(
    protected readonly endpoint: Endpoint,
    protected readonly dispatcher: Dispatcher,
  ) {}

  chat(request: ChatRequest): AsyncGenerator<ChatChunk> {
    return sinkIterable<ChatChunk>(request.signal, (sink, signal) => this.stream({ ...request, signal }, sink));
  }

  abstract stream(request: ChatRequest, sink: ChunkSink): Promise<void>;
}
