import type { Exchange } from './fakeServer';
import { FakeServer } from './fakeServer';
import type { FakeReply, FakeToolCall, FakeReasoning } from './fakeReply';
import { answerHarombeComplete } from './harombeComplete';

export interface FakePythonWorkerOptions {
  /** What `/health` names and the default reply mentions. Default `qwen2.5:7b`. */
  model?: string;
  /** Default `0.3.1`. */
  version?: string;
  reply?: FakeReply;
  /** The model behind the worker reasons (only a `<think>` block in the content survives that worker). */
  reasoning?: FakeReasoning;
  /** Answered (with empty content) to the next `/api/complete`, once; `setOptions({toolCalls})` re-arms. */
  toolCalls?: FakeToolCall[];
  /** Require `Authorization: Bearer <token>` on `/api/complete`; 401 `{"detail"}` otherwise. */
  token?: string;
}

/**
 * A worker of Harombe's original Python release (0.3.1, FastAPI): `GET /health` says
 * `{"status":"healthy","model","version"}`, `POST /api/complete` answers one JSON, and nothing
 * else exists (`/api/chat` is FastAPI's 404). It is strict about its request body: see
 * `answerHarombeComplete`.
 */
export class FakePythonWorker extends FakeServer {
  private opts: FakePythonWorkerOptions;
  private toolCallsArmed: boolean;

  private constructor(opts: FakePythonWorkerOptions) {
    super();
    this.opts = { ...opts };
    this.toolCallsArmed = Boolean(opts.toolCalls?.length);
  }

  static async start(opts: FakePythonWorkerOptions = {}): Promise<FakePythonWorker> {
    const fake = new FakePythonWorker(opts);
    await fake.listen(0);
    return fake;
  }

  get options(): Readonly<FakePythonWorkerOptions> {
    return this.opts;
  }

  setOptions(partial: Partial<FakePythonWorkerOptions>): void {
    this.opts = { ...this.opts, ...partial };
    if ('toolCalls' in partial) this.toolCallsArmed = Boolean(partial.toolCalls?.length);
  }

  protected async handle(ex: Exchange): Promise<void> {
    const route = `${ex.record.method} ${ex.record.path}`;
    const model = this.opts.model ?? 'qwen2.5:7b';
    if (route === 'GET /health') {
      const body = { status: 'healthy', model, version: this.opts.version ?? '0.3.1' };
      return this.answer(ex, this.healthFault, {
        contentType: 'application/json',
        streamed: false,
        pieces: [JSON.stringify(body)],
        final: [],
        garbage: '<html>not json</html>',
        oversized: (bytes) => JSON.stringify({ ...body, padding: 'x'.repeat(bytes) }),
        flavour: 'fastapi',
      });
    }
    if (route !== 'POST /api/complete') {
      // FastAPI answers 405 for a known path with the wrong method, 404 otherwise.
      if (ex.record.path === '/api/complete' || ex.record.path === '/health') return this.sendError(ex, 405, 'fastapi', 'Method Not Allowed');
      return this.sendError(ex, 404, 'fastapi', 'Not Found');
    }
    if (!this.authorized(ex, this.opts.token)) return this.sendError(ex, 401, 'fastapi', 'Invalid or missing token');
    const toolCalls = this.toolCallsArmed ? this.opts.toolCalls : undefined;
    const answer = answerHarombeComplete(ex.record.body, { model, reply: this.opts.reply, toolCalls, reasoning: this.opts.reasoning });
    if ('status' in answer) return this.sendError(ex, answer.status, 'fastapi', answer.message);
    if (toolCalls) this.toolCallsArmed = false;
    this.countInFlight(ex);
    await this.answer(ex, this.fault, answer);
  }
}
