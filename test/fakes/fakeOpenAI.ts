import type { Exchange } from './fakeServer';
import { FakeServer } from './fakeServer';
import type { FakeReasoning, FakeReply, FakeToolCall } from './fakeReply';
import { answerChatCompletion, openaiModelList } from './openaiAnswers';
import { openaiEmbeddingAnswer, openaiTextCompletionAnswer } from './embeddingAnswers';
import { defaultModelInfo } from './fakeModels';
import { countPromptTokens, type FakeMessage } from './fakeReply';
import { exactTokens } from './fakeTokenizer';
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
  /** Which server's context behaviour to play: llama.cpp's `llama-server` (default) or vLLM. */
  server?: 'llamacpp' | 'vllm';
  /**
   * The window in tokens (llama.cpp's per-slot `n_ctx`, vLLM's `max_model_len`): a longer prompt
   * is refused with the server's own 400. Unset: no limit, and nothing about it is reported.
   */
  contextWindow?: number;
  /** llama.cpp's `n_ctx_train` (the model's trained maximum). Default: `contextWindow`. */
  trainedWindow?: number;
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
    if (route === 'GET /v1/models') return this.sendJson(ex, 200, this.modelList(models));
    const llamacpp = (this.opts.server ?? 'llamacpp') === 'llamacpp';
    if (llamacpp && route === 'GET /props') return this.sendJson(ex, 200, this.props(models));
    if (route === 'POST /tokenize') return this.tokenize(ex);
    if (route === 'POST /v1/chat/completions') {
      const tools = (ex.record.body as { tools?: unknown } | undefined)?.tools;
      if (this.opts.noTools && Array.isArray(tools) && tools.length > 0) {
        return this.sendError(ex, 400, 'openai', '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set');
      }
      const refusal = this.overflow(ex.record.body);
      if (refusal) return this.sendJson(ex, 400, refusal);
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

  /** vLLM adds `max_model_len` to each model (protocol.py `ModelCard`); llama.cpp a `meta` with `n_ctx_train` (and `n_ctx` in newer builds). */
  private modelList(models: string[]): unknown {
    const list = openaiModelList(models, this.opts.server === 'vllm' ? 'vllm' : 'llamacpp') as { data: Record<string, unknown>[] };
    const window = this.opts.contextWindow;
    if (window === undefined) return list;
    for (const m of list.data) {
      if (this.opts.server === 'vllm') m.max_model_len = window;
      else m.meta = { vocab_type: 2, n_vocab: 151_936, n_ctx_train: this.opts.trainedWindow ?? window, n_ctx: window, n_embd: 3584, n_params: 7_615_616_512, size: 4_683_087_332 };
    }
    return list;
  }

  /** llama.cpp's `GET /props` (tools/server/README.md): the per-slot window in `default_generation_settings.n_ctx`. */
  private props(models: string[]): unknown {
    return {
      default_generation_settings: { n_ctx: this.opts.contextWindow ?? this.opts.trainedWindow ?? 4096, params: { n_predict: -1, temperature: 0.8 } },
      total_slots: 1,
      model_path: `/models/${models[0] ?? 'model'}.gguf`,
      chat_template: '{{ messages }}',
      build_info: 'b6000-fake',
    };
  }

  /** `POST /tokenize` `{content}` → `{tokens}` (llama.cpp and vLLM both serve it); the fakes count with cl100k. */
  private tokenize(ex: Exchange): void {
    const body = ex.record.body as { content?: unknown; prompt?: unknown } | undefined;
    const text = typeof body?.content === 'string' ? body.content : typeof body?.prompt === 'string' ? body.prompt : undefined;
    if (text === undefined) return this.sendJson(ex, 400, { error: { code: 400, message: '"content" must be provided', type: 'invalid_request_error' } });
    const count = exactTokens(text);
    const tokens = Array.from({ length: count }, (_, i) => i);
    this.sendJson(ex, 200, this.opts.server === 'vllm' ? { count, max_model_len: this.opts.contextWindow ?? null, tokens } : { tokens });
  }

  /**
   * The 400 each server answers a prompt longer than its window with, in its own body: llama.cpp's
   * `exceed_context_size_error` with both sizes (llama.cpp#15780; context shift is off by default,
   * so it never truncates), vLLM's `BadRequestError` counting prompt + `max_tokens` against
   * `max_model_len` (vllm#20409; without `max_tokens` the completion takes what is left, vllm#6954).
   */
  private overflow(body: unknown): unknown {
    const window = this.opts.contextWindow;
    if (window === undefined || typeof body !== 'object' || body === null) return undefined;
    const b = body as { messages?: unknown; tools?: unknown; max_tokens?: unknown; max_completion_tokens?: unknown };
    if (!Array.isArray(b.messages)) return undefined;
    const prompt = countPromptTokens(b.messages as FakeMessage[], b.tools);
    if (this.opts.server === 'vllm') {
      const asked = typeof b.max_tokens === 'number' ? b.max_tokens : typeof b.max_completion_tokens === 'number' ? b.max_completion_tokens : 0;
      if (prompt + asked <= window) return undefined;
      // Current vLLM wraps it as `{"error": ErrorInfo}` (entrypoints/openai/protocol.py `ErrorResponse`).
      return {
        error: {
          message: `This model's maximum context length is ${window} tokens. However, you requested ${prompt + asked} tokens (${prompt} in the messages, ${asked} in the completion). Please reduce the length of the messages or completion.`,
          type: 'BadRequestError',
          param: null,
          code: 400,
        },
      };
    }
    if (prompt <= window) return undefined;
    return {
      error: {
        code: 400,
        message: `request (${prompt} tokens) exceeds the available context size (${window} tokens), try increasing it`,
        type: 'exceed_context_size_error',
        n_prompt_tokens: prompt,
        n_ctx: window,
      },
    };
  }
}

function asObject(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}
