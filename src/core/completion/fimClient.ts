import type { Dispatcher } from 'undici';
import { DEFAULT_MAX_LINE_BYTES } from '../inference/lineFramer';
import { lineStream } from '../inference/lineStream';
import { NodeError } from '../inference/nodeError';
import { nodeRequest } from '../inference/nodeRequest';
import { parseRecord } from '../inference/ollamaRecord';
import type { Endpoint } from '../inference/types';
import { nodeCan } from '../nodes/capabilities';
import type { NodeInfo } from '../nodes/nodeInfo';
import type { CancelSignal } from '../util/canceller';
import type { FimBackend, FimRequest } from './completionEngine';
import { fimTemplateFor } from './fimTemplates';

export interface FimClientPorts {
  endpoint: (name: string) => Endpoint;
  dispatcher: (name: string) => Dispatcher;
  protocol: (name: string) => 'ollama' | 'openai' | 'complete';
  /** Ask for this model instead of the node's own (a dedicated FIM model). */
  model: () => string | undefined;
}

/** llama.cpp caps generation time itself once a line is done (`t_max_predict_ms`): a FIM answer is needed now or never. */
const MAX_PREDICT_MS = 500;

/**
 * Fill-in-the-middle in each server's own API: Ollama `/api/generate` with `suffix` for models
 * with `insert`, or the family's FIM tokens with `raw: true`; llama.cpp `/infill` (`input_prefix`,
 * `input_suffix`, `input_extra`, `cache_prompt`, `t_max_predict_ms`); other OpenAI-compatible
 * servers `/v1/completions` with the family's FIM tokens. Every request carries a server-side cap
 * (`num_predict` / `n_predict` / `max_tokens`), since a cancelled connection does not always stop
 * a server (llama.cpp#11720, #24496).
 */
export class FimClient implements FimBackend {
  /** OpenAI-compatible nodes found to have no `/infill` (not llama.cpp). */
  private readonly noInfill = new Set<string>();

  constructor(private readonly ports: FimClientPorts) {}

  complete(node: NodeInfo, request: FimRequest, signal: CancelSignal, onFirstToken: () => void): Promise<string> {
    const protocol = this.ports.protocol(node.name);
    if (protocol === 'ollama') return this.ollama(node, request, signal, onFirstToken);
    if (protocol === 'openai') return this.openai(node, request, signal, onFirstToken);
    return Promise.reject(new NodeError('unsupported', `${node.name} (a Harombe 0.3.1 worker) cannot fill in the middle`, { capability: 'insert' }));
  }

  private async ollama(node: NodeInfo, request: FimRequest, signal: CancelSignal, onFirstToken: () => void): Promise<string> {
    const model = this.ports.model() ?? node.model;
    const { prefix, suffix } = request.prompt;
    const template = fimTemplateFor(model);
    const withSuffix = nodeCan(node, 'insert') === true || !template;
    const options: Record<string, unknown> = { num_predict: request.maxTokens, temperature: 0.2, top_p: 0.9 };
    // The same window as chat on this node: another num_ctx would make Ollama reload the model (continue#5965).
    options.num_ctx = node.contextWindow.tokens;
    const body: Record<string, unknown> = withSuffix
      ? { model, prompt: withExtra(prefix, request), suffix, stream: true, keep_alive: '30m', options }
      : { model, prompt: template.render(withExtra(prefix, request), suffix), raw: true, stream: true, keep_alive: '30m', options: { ...options, stop: template.stop } };
    const res = await nodeRequest(this.ports.dispatcher(node.name), this.ports.endpoint(node.name), { path: '/api/generate', body, accept: 'application/x-ndjson', signal });
    let text = '';
    try {
      for await (const line of lineStream(res.chunks(), DEFAULT_MAX_LINE_BYTES)) {
        if (line.length === 0) continue;
        const record = parseRecord(line);
        if (typeof record.error === 'string') throw new NodeError('incomplete', `the node gave up mid-answer: ${record.error.slice(0, 200)}`);
        if (typeof record.response === 'string' && record.response.length > 0) {
          if (text.length === 0) onFirstToken();
          text += record.response;
        }
        if (record.done === true) return text;
      }
    } finally {
      res.close();
    }
    throw new NodeError('incomplete', 'the answer ended without its final record (done: true)');
  }

  private async openai(node: NodeInfo, request: FimRequest, signal: CancelSignal, onFirstToken: () => void): Promise<string> {
    const model = this.ports.model() ?? node.model;
    const { prefix, suffix, extra } = request.prompt;
    const endpoint = this.ports.endpoint(node.name);
    const dispatcher = this.ports.dispatcher(node.name);
    if (!this.noInfill.has(node.name)) {
      try {
        const res = await nodeRequest(dispatcher, endpoint, {
          path: '/infill',
          body: {
            input_prefix: prefix,
            input_suffix: suffix,
            input_extra: extra.map((s) => ({ filename: s.filename, text: s.text })),
            n_predict: request.maxTokens,
            t_max_predict_ms: MAX_PREDICT_MS,
            cache_prompt: true,
            stream: false,
            samplers: ['top_k', 'top_p', 'infill'],
          },
          accept: 'application/json',
          signal,
        });
        onFirstToken();
        const body = JSON.parse((await res.readAll(1 << 20)).toString('utf8')) as { content?: unknown };
        if (typeof body.content !== 'string') throw new NodeError('protocol', '/infill answered without "content"');
        return body.content;
      } catch (err) {
        // Not llama.cpp (vLLM, LM Studio): no /infill there. Anything else is a real failure.
        if (!(err instanceof NodeError && err.details.status === 404)) throw err;
        this.noInfill.add(node.name);
      }
    }
    const template = fimTemplateFor(model);
    if (!template) throw new NodeError('unsupported', `${node.name} has no /infill and Harombe knows no FIM tokens for ${model}`, { capability: 'insert' });
    const res = await nodeRequest(dispatcher, endpoint, {
      path: '/v1/completions',
      body: { model, prompt: template.render(withExtra(prefix, request), suffix), max_tokens: request.maxTokens, temperature: 0.2, stop: template.stop, stream: false },
      accept: 'application/json',
      signal,
    });
    onFirstToken();
    const body = JSON.parse((await res.readAll(1 << 20)).toString('utf8')) as { choices?: { text?: unknown }[] };
    const text = body.choices?.[0]?.text;
    if (typeof text !== 'string') throw new NodeError('protocol', '/v1/completions answered without choices[0].text');
    return text;
  }
}

/** Snippets of other files go before the prefix as comments-free file blocks, the way repo-level FIM prompts lay them out. */
function withExtra(prefix: string, request: FimRequest): string {
  const extra = request.prompt.extra;
  if (extra.length === 0) return prefix;
  return `${extra.map((s) => `// ${s.filename}\n${s.text}`).join('\n')}\n${prefix}`;
}
