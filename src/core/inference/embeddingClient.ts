import type { Dispatcher } from 'undici';
import { NodeError } from './nodeError';
import { nodeRequest } from './nodeRequest';
import type { ChatChunk, ChatRequest, EmbeddingWork, Endpoint, InferenceClient } from './types';

/** A batch of vectors is one JSON answer: 1,000 inputs of 1,024 floats is about 20 MB. */
const MAX_EMBEDDING_BYTES = 128 * 1024 * 1024;

/**
 * Embeddings in a node's own API, answered as one `done` chunk carrying one vector per input in
 * the inputs' order: Ollama's `POST /api/embed` (or `/api/embeddings` for a legacy request, whose
 * vectors Ollama does not normalise), or an OpenAI-compatible `POST /v1/embeddings` (vectors put
 * back in order by `index`, as the API does not promise order).
 */
export class EmbeddingClient implements InferenceClient {
  constructor(
    private readonly protocol: 'ollama' | 'openai',
    private readonly endpoint: Endpoint,
    private readonly dispatcher: Dispatcher,
  ) {}

  async *chat(request: ChatRequest): AsyncGenerator<ChatChunk> {
    const work = request.work;
    if (work?.kind !== 'embedding') throw new Error('EmbeddingClient needs an embedding request');
    yield await this.embed(request, work);
  }

  private async embed(request: ChatRequest, work: EmbeddingWork): Promise<ChatChunk> {
    const { path, body } = this.requestFor(request.model, work);
    const res = await nodeRequest(this.dispatcher, this.endpoint, { path, body, accept: 'application/json', signal: request.signal });
    let answer: unknown;
    try {
      const bytes = await res.readAll(MAX_EMBEDDING_BYTES);
      answer = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      if (err instanceof NodeError) throw err;
      throw new NodeError('protocol', 'the node answered embeddings with something that is not JSON', { cause: err });
    } finally {
      res.close();
    }
    const { embeddings, promptTokens } = this.vectorsOf(answer, work);
    return { type: 'done', doneReason: 'stop', embeddings, promptTokens };
  }

  private requestFor(model: string, work: EmbeddingWork): { path: string; body: Record<string, unknown> } {
    if (this.protocol === 'openai') {
      const body: Record<string, unknown> = { model, input: work.input, encoding_format: 'float' };
      if (work.dimensions !== undefined) body.dimensions = work.dimensions;
      return { path: '/v1/embeddings', body };
    }
    if (work.legacy) return { path: '/api/embeddings', body: { model, prompt: work.input[0] ?? '' } };
    const body: Record<string, unknown> = { model, input: work.input };
    if (work.dimensions !== undefined) body.dimensions = work.dimensions;
    if (work.truncate !== undefined) body.truncate = work.truncate;
    return { path: '/api/embed', body };
  }

  private vectorsOf(answer: unknown, work: EmbeddingWork): { embeddings: number[][]; promptTokens?: number } {
    const a = (answer ?? {}) as { embeddings?: unknown; embedding?: unknown; data?: unknown; prompt_eval_count?: unknown; usage?: { prompt_tokens?: unknown } };
    let raw: unknown[];
    let promptTokens: unknown;
    if (this.protocol === 'openai') {
      if (!Array.isArray(a.data)) throw new NodeError('protocol', 'the node\'s embeddings answer has no "data" list');
      raw = [...(a.data as { index?: unknown; embedding?: unknown }[])]
        .sort((x, y) => (typeof x?.index === 'number' ? x.index : 0) - (typeof y?.index === 'number' ? y.index : 0))
        .map((d) => d?.embedding);
      promptTokens = a.usage?.prompt_tokens;
    } else if (work.legacy) {
      raw = [a.embedding];
    } else {
      if (!Array.isArray(a.embeddings)) throw new NodeError('protocol', 'the node\'s embeddings answer has no "embeddings" list');
      raw = a.embeddings;
      promptTokens = a.prompt_eval_count;
    }
    const expected = work.legacy ? 1 : work.input.length;
    if (raw.length !== expected) throw new NodeError('protocol', `the node answered ${raw.length} embeddings for ${expected} inputs`);
    const embeddings = raw.map((v, i) => {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new NodeError('protocol', `embedding ${i} from the node is not a list of numbers`);
      return v as number[];
    });
    return { embeddings, ...(typeof promptTokens === 'number' && Number.isFinite(promptTokens) && { promptTokens }) };
  }
}
