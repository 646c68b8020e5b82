import type { Dispatcher } from 'undici';
import { CompleteClient } from './completeClient';
import { OllamaClient } from './ollamaClient';
import { OpenAIClient } from './openaiClient';
import type { Endpoint, InferenceClient, InferenceProtocol } from './types';

/**
 * The client for a node's protocol. Clients are cheap and stateless, so one per request is fine;
 * the `dispatcher` is what must be shared per node, since it holds the keep-alive connections.
 */
export function createInferenceClient(protocol: InferenceProtocol, endpoint: Endpoint, dispatcher: Dispatcher): InferenceClient {
  switch (protocol) {
    case 'ollama':
      return new OllamaClient(endpoint, dispatcher);
    case 'openai':
      return new OpenAIClient(endpoint, dispatcher);
    case 'complete':
      return new CompleteClient(endpoint, dispatcher);
  }
}
