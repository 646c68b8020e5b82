import type { Dispatcher } from 'undici';
import { OllamaWireClient } from './ollamaWireClient';
import { OpenAIWireClient } from './openaiWireClient';
import type { Endpoint, InferenceClient, InferenceProtocol, WireRequest } from './types';

/**
 * The client that relays a gateway client's request as it came to a node speaking `nodeProtocol`,
 * or undefined when that node cannot take it as it is (then the coordinator sends `messages`
 * through the node's own client and the gateway re-encodes the answer). OpenAI requests also go
 * to Ollama nodes: Ollama and `harombe start` workers serve `/v1/chat/completions` themselves.
 * Harombe 0.3.1 workers (`complete`) have neither API.
 */
export function createWireClient(wire: WireRequest, nodeProtocol: InferenceProtocol, endpoint: Endpoint, dispatcher: Dispatcher): InferenceClient | undefined {
  if (wire.protocol === 'ollama' && nodeProtocol === 'ollama') return new OllamaWireClient(endpoint, dispatcher);
  if (wire.protocol === 'openai' && (nodeProtocol === 'openai' || nodeProtocol === 'ollama')) return new OpenAIWireClient(endpoint, dispatcher);
  return undefined;
}
