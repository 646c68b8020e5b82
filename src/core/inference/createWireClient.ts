import type { Dispatcher } from 'undici';
import { OllamaWireClient } from './ollamaWireClient';
import { OpenAIWireClient } from './openaiWireClient';
import type { Endpoint, InferenceClient, InferenceProtocol, WireRequest } from './types';

/**
 * The client that relays a gateway client's request as it came to a node speaking `nodeProtocol`,
 * or undefined when that node cannot take it as it is (then the coordinator sends `messages`
 * through the node's own client and the gateway re-encodes the answer). OpenAI requests are not
 * relayed to Ollama nodes: Ollama's `/v1/chat/completions` ignores `num_ctx` and `truncate`
 * (openai/openai.go keeps only stop, num_predict, temperature, seed, penalties and top_p;
 * ollama#16800), so the prompt would run in the server's default window and be cut silently. They
 * go through the native API with the node's window instead. Harombe 0.3.1 workers (`complete`)
 * have neither API.
 */
export function createWireClient(wire: WireRequest, nodeProtocol: InferenceProtocol, endpoint: Endpoint, dispatcher: Dispatcher): InferenceClient | undefined {
  if (wire.protocol === 'ollama' && nodeProtocol === 'ollama') return new OllamaWireClient(endpoint, dispatcher);
  if (wire.protocol === 'openai' && nodeProtocol === 'openai') return new OpenAIWireClient(endpoint, dispatcher);
  return undefined;
}
