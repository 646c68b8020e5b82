import type { Exchange } from './fakeServer';
import { FakeServer } from './fakeServer';
import type { FakeReasoning, FakeReply, FakeToolCall } from './fakeReply';
import { answerChatCompletion, openaiModelList } from './openaiAnswers';
import { openaiEmbeddingAnswer, openaiTextCompletionAnswer } from './embeddingAnswers';
import { defaultModelInfo } from './fakeModels';
import { llamaCppInfillAnswer } from './llamaCppInfill';

export interface FakeOpenAIOptions {
  /** What `/v1/models` lists. Default `['qwen2.5:7b']`. */
  models?: string[];
  /** Answer any model name, as llama.cpp does (default); false makes unknown models a 404, as vLLM does. */
  acceptAnyModel?: boolean;
  reply?: FakeReply;
  /** A reasoning model: its draft in the content (no reasoning parser) or in `reasoning_content` (with one). */
  reasoning?: FakeReasoning;
  /** Delay before each SSE event. Default 0. */
  chunkDelayMs?: number;
  /** Answered instead of text when the request offers tools and has no tool result yet. */
  toolCalls?: FakeToolCall[];
  /** Require `Authorization: Bearer <token>` on the `/v1` routes; 401 otherwise. */
  token?: string;
  /**
   * Started without tool parsing, as vLLM is unless given `--enable-auto-tool-choice`: a request
   * that offers tools is refused with vLLM's 400 (vllm/entrypoints/openai/serving_chat.py).
   */
  noTools?: boolean;
  /**
   * llama.cpp's `/infill`: the middle for a prefix and suffix. Unset, the route is the 404 of a
   * server that has none (vLLM, LM Studio); with `fimTokens: false` it is llama.cpp's 501 for a
   * model whose vocabulary has no FIM tokens.
   */
  fim?: (prefix: string, suffix: string) => string;
  fimTokens?: boolean;
  /**
   * Milliseconds of prompt processing before an `/infill` answer, per request: a number, or a
   * function for a latency profile with rare slow spikes. A client that goes away meanwhile stops
   * the work (llama.cpp cancels the task of a closed connection; see FakeServer.prefill).
   */
  firstTokenDelayMs?: number | (() => number);
}

/**
 * An OpenAI-compatible server like llama.cpp's or vLLM's: `/v1/models`, `/v1/chat/completions`
 * and `/v1/completions` (SSE or one JSON), `/v1/embeddings` (when its model embeds), `/health`,
 * llama.cpp's `/infill` (with `fim` set), and no Ollama routes.
 */
export class FakeOpenAI extends FakeServer {
  private opts: FakeOpenAIOptions;

  private constructor(opts: FakeOpenAIOptions) {
    super();
    this.opts = { ...opts };
    this.chunkDelayMs = opts.chunkDelayMs ?? 0;
  }

  static async start(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    const fake = new FakeOpenAI(opts);
    await fake.listen(0);
    return fake;
  }

  get options(): Readonly<FakeOpenAIOptions> {
    return this.opts;
  }

  setOptions(partial: Partial<FakeOpenAIOptions>): void {
    this.opts = { ...this.opts, ...partial };
    if (partial.chunkDelayMs !== undefined) this.chunkDelayMs = partial.chunkDelayMs;
  }

  protected async handle(ex: Exchange): Promise<void> {
    const route = `${ex.record.method} ${ex.record.path}`;
    const models = this.opts.models ?? ['qwen2.5:7b'];
    if (route === 'GET /health') {
      return this.answer(ex, this.healthFault, {
        contentType: 'application/json',
        streamed: false,
        pieces: [JSON.stringify({ status: 'ok' })],
        final: [],
        garbage: '<html>not json</html>',
        oversized: (bytes) => JSON.stringify({ status: 'ok', padding: 'x'.repeat(bytes) }),
        flavour: 'openai',
      });
    }
    if (!this.authorized(ex, this.opts.token)) return this.sendError(ex, 401, 'openai', 'Invalid API Key');
    if (route === 'GET /v1/models') return this.sendJson(ex, 200, openaiModelList(models, 'llamacpp'));
    if (route === 'POST /v1/chat/completions') {
      const tools = (ex.record.body as { tools?: unknown } | undefined)?.tools;
      if (this.opts.noTools && Array.isArray(tools) && tools.length > 0) {
        return this.sendError(ex, 400, 'openai', '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set');
      }
      const answer = answerChatCompletion(ex.record.body, {
        models,
        acceptAnyModel: this.opts.acceptAnyModel ?? true,
        reply: this.opts.reply,
        toolCalls: this.opts.toolCalls,
        reasoning: this.opts.reasoning,
      });
      if ('status' in answer) return this.sendError(ex, answer.status, 'openai', answer.message);
      this.countInFlight(ex);
      return this.answer(ex, this.fault, answer);
    }
    if (route === 'POST /v1/completions') {
      const answer = openaiTextCompletionAnswer(asObject(ex.record.body), { models, acceptAnyModel: this.opts.acceptAnyModel ?? true, reply: this.opts.reply });
      if ('status' in answer) return this.sendError(ex, answer.status, 'openai', answer.message);
      this.countInFlight(ex);
      return this.answer(ex, this.fault, answer);
    }
    if (route === 'POST /infill' && this.opts.fim) {
      const answer = llamaCppInfillAnswer(ex.record.body, { model: models[0] ?? 'model.gguf', fim: this.opts.fim, hasFimTokens: this.opts.fimTokens ?? true });
      if ('status' in answer) return this.sendJson(ex, answer.status, { error: { code: answer.status, message: answer.message, type: answer.type } });
      this.countInFlight(ex);
      const wait = typeof this.opts.firstTokenDelayMs === 'function' ? this.opts.firstTokenDelayMs() : (this.opts.firstTokenDelayMs ?? 0);
      if (!(await this.prefill(ex, wait))) return;
      return this.answer(ex, this.fault, answer);
    }
        if (route === 'POST /v1/embeddings') {
      // llama.cpp's server embeds only when started with --embeddings (as for an embedding model);
      // otherwise it answers 501 not_supported_error with this text (tools/server/server.cpp).
      const body = asObject(ex.record.body);
      const model = typeof body.model === 'string' && body.model !== '' ? body.model : (models[0] ?? '');
      if (!models.some((m) => defaultModelInfo(m).capabilities.includes('embedding'))) {
        return this.sendJson(ex, 501, { error: { code: 501, message: 'This server does not support embeddings. Start it with `--embeddings`', type: 'not_supported_error' } });
      }
      const answer = openaiEmbeddingAnswer(body, model);
      if ('status' in answer) return this.sendError(ex, answer.status, 'openai', answer.message);
      return this.answer(ex, this.fault, answer);
    }
    this.sendError(ex, 404, 'openai', 'File Not Found');
  }
}

function asObject(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
