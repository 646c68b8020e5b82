import { createHash } from 'node:crypto';
import type { Exchange, FakeAnswer, RouteError } from './fakeServer';
import { FakeServer } from './fakeServer';
import { capabilityRefusal, defaultModelInfo, type FakeModelInfo } from './fakeModels';
import { countPromptTokens, splitTokens, type FakeReasoning, type FakeReply, type FakeToolCall } from './fakeReply';
import { answerHarombeComplete } from './harombeComplete';
import { answerOllama, ollamaGenerateAnswer } from './ollamaAnswers';
import { overflow, requestWindow, versionAtLeast } from './ollamaWindow';
import { answerChatCompletion, openaiModelList } from './openaiAnswers';
import { ollamaEmbedAnswer, ollamaLegacyEmbeddingAnswer, openaiEmbeddingAnswer, openaiTextCompletionAnswer } from './embeddingAnswers';

/** Makes the fake also a worker of this project (`harombe start`): `/health` and `/api/complete`. */
export interface FakeWorkerOptions {
  model: string;
  tier: number;
  version?: string;
  nodeId?: string;
  apis?: string[];
  maxParallel?: number;
  status?: 'ok' | 'degraded';
}

export interface FakeOllamaOptions {
  /** Models `/api/tags` lists and chat accepts (others are 404 as in Ollama). Default `['qwen2.5:7b']`. */
  models?: string[];
  /** Models `/api/ps` lists as loaded. Default: all of `models`. */
  loaded?: string[];
  /** The answer's text; default a deterministic text naming the model (see `fakeReply`). */
  reply?: FakeReply;
  /** A reasoning model: its draft before every chat answer, in the content or apart (see `FakeReasoning`). */
  reasoning?: FakeReasoning;
  /** Delay before each streamed record. Default 0. */
  chunkDelayMs?: number;
  /**
   * Answered instead of text when a chat request offers tools and has no tool result yet
   * (`/api/chat`, `/v1/chat/completions`); on `/api/complete`, answered once after being set.
   */
  toolCalls?: FakeToolCall[];
  /** Require `Authorization: Bearer <token>` on every route but `/health`; 401 otherwise. */
  token?: string;
  worker?: FakeWorkerOptions;
  /** What `/api/version` says. */
  ollamaVersion?: string;
  /**
   * The middle a fill-in-the-middle request gets: `/api/generate` with `suffix` (models with
   * `insert`) or with `raw: true` (the client rendered the model's FIM tokens into `prompt`; the
   * fake passes the whole prompt as the prefix). Default: the ordinary generate answer.
   */
  fim?: (prefix: string, suffix: string) => string;
  /**
   * Milliseconds before the first record of a generate answer (prompt processing), per request:
   * a number, or a function for a latency profile with rare slow spikes. A client that goes away
   * meanwhile gets nothing, as a cancelled request stops on Ollama (ollama#2876).
   */
  firstTokenDelayMs?: number | (() => number);
  /** What each model can do and its trained window, as `/api/show` reports them; defaults by family (see `fakeModels`). */
  modelInfo?: Record<string, Partial<FakeModelInfo>>;
  /**
   * Saturating mode, as `OLLAMA_NUM_PARALLEL`: at most this many answers are generated at once;
   * the rest wait, unbounded and with nothing sent (not even headers), for a turn. Real Ollama
   * does the same for a model that is already loaded: its queue limit `OLLAMA_MAX_QUEUE` does not
   * apply there (ollama/ollama#7758) and nothing reports the queue (ollama/ollama#2004).
   */
  numParallel?: number;
  /** GPU memory, for the default window of Ollama 0.15.5+ (see `ollamaWindow`). Default 8. */
  vramGiB?: number;
}

const DEFAULT_MODELS = ['qwen2.5:7b'];

/**
 * An Ollama server, close enough to the real one that the official `ollama` and `openai` npm
 * clients work against it unchanged: `/api/chat`, `/api/generate`, `/api/tags`, `/api/ps`,
 * `/api/version`, `/api/show`, `/api/embed`, `/api/embeddings`, and the OpenAI-compatible
 * `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings` and `/v1/models`.
 * With `worker` set it is also a worker of this project.
 */
export class FakeOllama extends FakeServer {
  private opts: FakeOllamaOptions;
  private completeToolCallsArmed: boolean;
  private generating = 0;
  private readonly turns: (() => void)[] = [];
  /** Most answers generated at once since start (saturating mode or not). */
  peakGenerating = 0;

  private constructor(opts: FakeOllamaOptions) {
    super();
    this.opts = { ...opts };
    this.chunkDelayMs = opts.chunkDelayMs ?? 0;
    this.completeToolCallsArmed = Boolean(opts.toolCalls?.length);
  }

  static async start(opts: FakeOllamaOptions = {}): Promise<FakeOllama> {
    const fake = new FakeOllama(opts);
    await fake.listen(0);
    return fake;
  }

  get options(): Readonly<FakeOllamaOptions> {
    return this.opts;
  }

  /** Changes options from the next request on; setting `toolCalls` re-arms them for `/api/complete`. */
  setOptions(partial: Partial<FakeOllamaOptions>): void {
    this.opts = { ...this.opts, ...partial };
    if (partial.chunkDelayMs !== undefined) this.chunkDelayMs = partial.chunkDelayMs;
    if ('toolCalls' in partial) this.completeToolCallsArmed = Boolean(partial.toolCalls?.length);
  }

  protected async handle(ex: Exchange): Promise<void> {
    const { method, path } = ex.record;
    const route = `${method} ${path}`;
    const worker = this.opts.worker;

    if (route === 'GET /health' && worker) return this.health(ex, worker);
    // Ollama answers a bare GET / with this text; tools use it as a liveness check.
    if (route === 'GET /' || route === 'HEAD /') return this.sendText(ex, 200, 'Ollama is running');

    if (!this.authorized(ex, this.opts.token)) {
      return this.sendError(ex, 401, path.startsWith('/v1/') ? 'openai' : 'ollama', 'unauthorized');
    }
    switch (route) {
      case 'POST /api/chat':
        return this.chat(ex, this.refusal('chat', ex.record.body) ?? this.windowed('chat', ex.record.body), 'ollama');
      case 'POST /api/generate':
        return this.generate(ex);
      case 'POST /v1/chat/completions':
        return this.chat(ex, this.refusal('chat', ex.record.body) ?? this.windowed('v1', ex.record.body), 'openai');
      case 'POST /v1/completions':
        // Ollama's /v1/completions is /api/generate underneath (openai/openai.go fromCompleteRequest): the same refusals.
        return this.chat(ex, this.refusal('generate', ex.record.body) ?? openaiTextCompletionAnswer(asObject(ex.record.body), this.replyOptions()), 'openai');
      case 'POST /api/embed':
        return this.embed(ex, 'ollama', (b, m) => ollamaEmbedAnswer(b, m));
      case 'POST /api/embeddings':
        return this.embed(ex, 'ollama', (b, m) => ollamaLegacyEmbeddingAnswer(b, m));
      case 'POST /v1/embeddings':
        return this.embed(ex, 'openai', (b, m) => openaiEmbeddingAnswer(b, m));
      case 'POST /api/complete':
        if (!worker) break;
        return this.complete(ex, worker);
      case 'GET /api/tags':
        return this.sendJson(ex, 200, { models: this.models().map((m) => modelEntry(m)) });
      case 'GET /api/ps':
        return this.sendJson(ex, 200, { models: this.loaded().map((m) => this.psEntry(m)) });
      case 'GET /api/version':
        return this.sendJson(ex, 200, { version: this.version() });
      case 'POST /api/show':
        return this.show(ex);
      case 'GET /v1/models':
        return this.sendJson(ex, 200, openaiModelList(this.models(), 'library'));
    }
    // Go's default 404.
    this.sendText(ex, 404, '404 page not found');
  }

  private async chat(ex: Exchange, answer: FakeAnswer | RouteError, flavour: 'ollama' | 'openai'): Promise<void> {
    if ('status' in answer) return this.sendError(ex, answer.status, flavour, answer.message);
    this.countInFlight(ex);
    const wait = this.turn();
    if (wait) await wait;
    try {
      await this.answer(ex, this.fault, answer);
    } finally {
      // The slot passes straight to the next in line, so a newcomer cannot slip in between.
      const next = this.turns.shift();
      if (next) next();
      else this.generating--;
    }
  }

  /** Takes a slot: at once while one is free (always, outside saturating mode), else in FIFO order like the runner's semaphore. */
  private turn(): Promise<void> | undefined {
    const limit = this.opts.numParallel;
    if (limit === undefined || (this.generating < limit && this.turns.length === 0)) {
      this.generating++;
      this.peakGenerating = Math.max(this.peakGenerating, this.generating);
      return undefined;
    }
    return new Promise((resolve) => this.turns.push(resolve));
  }

  private async generate(ex: Exchange): Promise<void> {
    const refusal = this.refusal('generate', ex.record.body);
    if (refusal) return this.sendError(ex, refusal.status, 'ollama', refusal.message);
    const b = (ex.record.body ?? {}) as { model?: unknown; prompt?: unknown; suffix?: unknown; raw?: unknown; stream?: unknown };
    const fim = typeof b.suffix === 'string' || b.raw === true;
    const wait = typeof this.opts.firstTokenDelayMs === 'function' ? this.opts.firstTokenDelayMs() : (this.opts.firstTokenDelayMs ?? 0);
    if (wait > 0) {
      this.countInFlight(ex);
      if (!(await this.prefill(ex, wait))) return;
    }
    // Without a `fim` answer set, the middle is the ordinary generate answer for the prefix.
    if (!fim || !this.opts.fim || typeof b.model !== 'string' || !this.models().includes(b.model)) {
      return this.chat(ex, this.windowed('generate', ex.record.body), 'ollama');
    }
    const prefix = typeof b.prompt === 'string' ? b.prompt : '';
    const suffix = typeof b.suffix === 'string' ? b.suffix : '';
    const middle = this.opts.fim(prefix, suffix);
    const answer = ollamaGenerateAnswer({ model: b.model, tokens: splitTokens(middle), promptTokens: countPromptTokens([{ role: 'user', content: prefix + suffix }]), stream: b.stream !== false });
    if (wait <= 0) this.countInFlight(ex);
    await this.answer(ex, this.fault, answer);
  }

  /**
   * The embedding routes: an unknown model is Ollama's 404 `model '…' not found`
   * (server/routes.go EmbedHandler); a model without the `embedding` capability is refused as
   * Ollama 0.12 refuses a model whose runner has no pooling: 500 `this model does not support
   * embeddings` (runner/ollamarunner/runner.go, passed on by EmbedHandler and by the /v1 layer).
   */
  private async embed(ex: Exchange, flavour: 'ollama' | 'openai', answer: (body: Record<string, unknown>, model: string) => FakeAnswer | RouteError): Promise<void> {
    const body = asObject(ex.record.body);
    const model = typeof body.model === 'string' ? body.model : '';
    if (model === '') return this.sendError(ex, 400, flavour, 'model is required');
    if (!this.models().includes(model)) return this.sendError(ex, 404, flavour, `model '${model}' not found`);
    if (!this.modelInfo(model).capabilities.includes('embedding')) return this.sendError(ex, 500, flavour, 'this model does not support embeddings');
    await this.chat(ex, answer(body, model), flavour);
  }

  private async complete(ex: Exchange, worker: FakeWorkerOptions): Promise<void> {
    const toolCalls = this.completeToolCallsArmed ? this.opts.toolCalls : undefined;
    const answer = answerHarombeComplete(ex.record.body, { model: worker.model, reply: this.opts.reply, toolCalls, reasoning: this.opts.reasoning });
    if ('status' in answer) return this.sendError(ex, answer.status, 'fastapi', answer.message);
    if (toolCalls) this.completeToolCallsArmed = false;
    this.countInFlight(ex);
    await this.answer(ex, this.fault, answer);
  }

  private async health(ex: Exchange, worker: FakeWorkerOptions): Promise<void> {
    const body = {
      status: worker.status ?? 'ok',
      model: worker.model,
      tier: worker.tier,
      version: worker.version ?? '0.1.0',
      node_id: worker.nodeId ?? `fake-${this.port}`,
      in_flight: this.inFlight,
      max_parallel: worker.maxParallel ?? 4,
      models: this.models(),
      hardware: null,
      apis: worker.apis ?? ['ollama', 'openai', 'complete'],
      // What `harombe start` passes on from its Ollama's /api/show.
      capabilities: this.modelInfo(worker.model).capabilities,
      context_max: this.modelInfo(worker.model).contextLength,
    };
    const text = JSON.stringify(body);
    await this.answer(ex, this.healthFault, {
      contentType: 'application/json',
      streamed: false,
      pieces: [text],
      final: [],
      garbage: '<html>not json</html>',
      oversized: (bytes) => JSON.stringify({ ...body, padding: 'x'.repeat(bytes) }),
      flavour: 'fastapi',
    });
  }

  private show(ex: Exchange): void {
    const body = ex.record.body as { model?: unknown; name?: unknown } | undefined;
    const model = typeof body?.model === 'string' ? body.model : typeof body?.name === 'string' ? body.name : '';
    if (!this.models().includes(model)) return this.sendError(ex, 404, 'ollama', `model '${model}' not found`);
    const info = this.modelInfo(model);
    this.sendJson(ex, 200, {
      modelfile: `FROM ${model}\n`,
      parameters: 'temperature 0.7',
      template: '{{ .Prompt }}',
      details: details(model),
      model_info: { 'general.architecture': info.architecture, 'general.parameter_count': 7_615_616_512, [`${info.architecture}.context_length`]: info.contextLength },
      capabilities: info.capabilities,
      modified_at: '2025-01-01T00:00:00Z',
    });
  }

  /**
   * A chat in the window Ollama would run it with: the request's `num_ctx` (native API only:
   * `/v1` ignores it, openai/openai.go) clamped to the model's maximum, else the version's default.
   * A prompt that does not fit is refused (a 400, for `truncate: false` on 0.12.6+) or cut
   * silently, and then the answer's `prompt_eval_count` is what the server really read.
   */
  private windowed(route: 'chat' | 'generate' | 'v1', body: unknown): FakeAnswer | RouteError {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const model = typeof b.model === 'string' ? b.model : '';
    const version = this.version();
    const known = this.models().includes(model);
    const window = known ? requestWindow(route === 'v1' ? undefined : b.options, version, this.opts.vramGiB ?? 8, this.modelInfo(model).contextLength) : 0;
    if (known) this.windows.set(model, window);
    const messages = route === 'generate' ? [{ role: 'user', content: typeof b.prompt === 'string' ? b.prompt : '' }] : Array.isArray(b.messages) ? b.messages : [];
    const prompt = known ? countPromptTokens(messages, route === 'generate' ? undefined : b.tools) : 0;
    const result = known ? overflow(prompt, window, route === 'v1' ? undefined : b.truncate, version) : { kind: 'fits' as const };
    this.lastWindow = known ? { model, window, overflow: result.kind } : undefined;
    if (result.kind === 'refused') return { status: 400, message: result.error };
    // Counted once: an exact count of a long prompt is the slowest thing the fake does.
    const promptEvalCount = result.kind === 'truncated' ? result.promptEvalCount : known ? prompt : undefined;
    if (route === 'v1') return answerChatCompletion(body, this.replyOptions(), 'ollama', promptEvalCount);
    return answerOllama(route, body, this.replyOptions(), promptEvalCount);
  }

  /** The window the last chat ran in and what became of its prompt, for tests. */
  lastWindow: { model: string; window: number; overflow: 'fits' | 'truncated' | 'refused' } | undefined;
  /** The window each model was last loaded with, as `/api/ps` reports it. */
  private readonly windows = new Map<string, number>();

  private version(): string {
    return this.opts.ollamaVersion ?? '0.12.6';
  }

  /** `/api/ps` lists `context_length` from 0.10.0 (ollama#11331): the window the model was loaded with. */
  private psEntry(model: string) {
    const info = this.modelInfo(model);
    const entry = { ...modelEntry(model), expires_at: new Date(Date.now() + 300_000).toISOString(), size_vram: 4_683_087_332 };
    if (!versionAtLeast(this.version(), '0.10.0')) return entry;
    return { ...entry, context_length: this.windows.get(model) ?? requestWindow(undefined, this.version(), this.opts.vramGiB ?? 8, info.contextLength) };
  }

  /** What `/api/show` reports for `model`. */
  modelInfo(model: string): FakeModelInfo {
    const info = { ...defaultModelInfo(model), ...this.opts.modelInfo?.[model] };
    // A fake set to reason is a model that can: Ollama lists `thinking` for it.
    if (this.opts.reasoning && !info.capabilities.includes('thinking')) info.capabilities = [...info.capabilities, 'thinking'];
    return info;
  }

  /** The 400 Ollama answers when the model cannot serve the request (see `capabilityRefusal`). */
  private refusal(route: 'chat' | 'generate', body: unknown): RouteError | undefined {
    if (typeof body !== 'object' || body === null) return undefined;
    const b = body as Record<string, unknown>;
    if (typeof b.model !== 'string' || !this.models().includes(b.model)) return undefined;
    const message = capabilityRefusal(this.modelInfo(b.model), b.model, route, b);
    return message === undefined ? undefined : { status: 400, message };
  }

  private replyOptions() {
    return { models: this.models(), acceptAnyModel: false, reply: this.opts.reply, toolCalls: this.opts.toolCalls, reasoning: this.opts.reasoning };
  }

  private models(): string[] {
    return this.opts.models ?? DEFAULT_MODELS;
  }

  private loaded(): string[] {
    return this.opts.loaded ?? this.models();
  }
}

function asObject(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

function modelEntry(name: string) {
  return {
    name,
    model: name,
    modified_at: '2025-01-01T00:00:00Z',
    size: 4_683_087_332,
    digest: createHash('sha256').update(name).digest('hex'),
    details: details(name),
  };
}

function details(name: string) {
  const size = /:(\d+(\.\d+)?)b/i.exec(name)?.[1];
  return {
    parent_model: '',
    format: 'gguf',
    family: name.split(/[:.\d]/)[0] || 'llama',
    families: [name.split(/[:.\d]/)[0] || 'llama'],
    parameter_size: size ? `${size}B` : '7.6B',
    quantization_level: 'Q4_K_M',
  };
}
