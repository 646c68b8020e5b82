import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createStderrLogger } from '../../../src/cli/stderrLogger';
import { WorkerServer } from '../../../src/node/workerServer';
import type { WorkerServerOptions } from '../../../src/node/workerServer';
import { FakeOllama } from '../../fakes/fakeOllama';
import { testTokens } from '../../security/testTokens';

/** The worker behind `harombe start`, in process, against the fake Ollama; every log line captured. */

const TOKEN: string = testTokens.worker;
// One character off TOKEN.
const WRONG = `${TOKEN.slice(0, -1)}x`;
const MODEL = 'qwen2.5:14b';
const HARDWARE = { cpu: 'Test CPU 9000', cores: 8, ramGb: 31.3, gpu: 'Test GPU', vramGb: 24 };

describe('worker server (harombe start)', function () {
  this.timeout(15_000);
  const log: string[] = [];
  const logger = createStderrLogger('trace', (line) => log.push(line));
  let fake: FakeOllama;
  let worker: WorkerServer;
  const extra: { stop(): Promise<void> }[] = [];

  async function startWorker(over: Partial<WorkerServerOptions> = {}): Promise<WorkerServer> {
    const w = await WorkerServer.start({
      host: '127.0.0.1',
      port: 0,
      ollamaUrl: fake.url,
      token: TOKEN,
      model: MODEL,
      tier: 1,
      version: '0.1.0',
      nodeId: 'node-test-1',
      maxParallel: 4,
      temperature: 0.7,
      upstreamTimeoutMs: 5000,
      logger,
      detectHardware: async () => HARDWARE,
      healthCacheMs: 0,
      ...over,
    });
    extra.push(w);
    return w;
  }

  const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
  const post = (path: string, body: unknown, headers: Record<string, string> = auth()) =>
    fetch(`${worker.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  let logFrom = 0;
  beforeEach(async () => {
    logFrom = log.length;
    fake = await FakeOllama.start({ models: [MODEL, 'llama3.2:3b'] });
    worker = await startWorker();
    await worker.health.start();
  });

  afterEach(async () => {
    for (const s of extra.splice(0)) await s.stop();
    await fake.stop();
  });

  const assertNoToken = (lines: string[]) => {
    for (const line of lines) {
      assert.equal(line.includes(TOKEN), false, `token in log: ${line}`);
      assert.equal(line.includes(WRONG), false, `presented token in log: ${line}`);
      assert.equal(line.includes(TOKEN.slice(0, 12)), false, `token prefix in log: ${line}`);
    }
  };

  // Every test runs with TOKEN set and many send WRONG: neither may ever reach the log. Checked
  // after each test, on its own lines, so that the check holds whichever tests run (grep, .only).
  afterEach(function () {
    if (this.currentTest?.state === 'passed') assertNoToken(log.slice(logFrom));
  });

  it('logs requests with a token, and with a wrong one, at trace level without either token', async () => {
    const before = log.length;
    assert.equal((await post('/api/chat', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: false })).status, 200);
    assert.equal((await post('/api/chat', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: false }, auth(WRONG))).status, 401);
    assert.ok(log.length - before >= 2, `expected the requests in the log, got ${log.slice(before).join('\n')}`);
    assertNoToken(log.slice(before));
  });

  describe('/health and /ready', () => {
    it('answers the guide\'s {"status":"ok","model":…} plus what the coordinator uses, to a caller with the token', async () => {
      const res = await fetch(`${worker.url}/health`, { headers: auth() });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual(body, {
        status: 'ok',
        model: MODEL,
        tier: 1,
        version: '0.1.0',
        node_id: 'node-test-1',
        in_flight: 0,
        running: 0,
        queued: 0,
        max_parallel: 4,
        models: [MODEL, 'llama3.2:3b'],
        hardware: { cpu: 'Test CPU 9000', cores: 8, ram_gb: 31.3, gpu: 'Test GPU', vram_gb: 24 },
        apis: ['ollama', 'openai', 'complete'],
        // Passed on from its Ollama's /api/show for the model.
        capabilities: fake.modelInfo(MODEL).capabilities,
        context_max: fake.modelInfo(MODEL).contextLength,
      });
      // The guide's two keys come first, as it shows them.
      assert.deepEqual(Object.keys(body).slice(0, 2), ['status', 'model']);
    });

    it('answers 503 degraded while its Ollama is down, and ok again once it is back', async () => {
      await fake.setFault({ type: 'refuse' });
      const down = await fetch(`${worker.url}/health`, { headers: auth() });
      assert.equal(down.status, 503);
      const body = (await down.json()) as Record<string, unknown>;
      assert.equal(body.status, 'degraded');
      assert.equal(body.model, MODEL);
      assert.equal(body.node_id, 'node-test-1');
      assert.deepEqual(body.models, []);
      assert.equal(body.reason, 'ollama unreachable');
      await fake.setFault({ type: 'none' });
      assert.equal((await fetch(`${worker.url}/health`)).status, 200);
      await fake.stop();
      assert.equal((await fetch(`${worker.url}/health`)).status, 503);
    });

    it('reports the requests in flight', async () => {
      fake.setOptions({ chunkDelayMs: 40 });
      const streaming = fetch(`${worker.url}/api/chat`, { method: 'POST', headers: auth(), body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }) });
      const res = await streaming;
      const during = (await (await fetch(`${worker.url}/health`, { headers: auth() })).json()) as { in_flight: number };
      assert.equal(during.in_flight, 1);
      await res.text();
      const after = (await (await fetch(`${worker.url}/health`, { headers: auth() })).json()) as { in_flight: number };
      assert.equal(after.in_flight, 0);
    });

    it('detects the real hardware in the background with systeminformation', async () => {
      const w = await startWorker({ detectHardware: undefined });
      await w.health.start();
      const body = (await (await fetch(`${w.url}/health`, { headers: auth() })).json()) as { hardware: { cpu?: string; cores?: number; ram_gb?: number } };
      assert.equal(typeof body.hardware.cpu, 'string');
      assert.ok((body.hardware.cores ?? 0) >= 1, JSON.stringify(body.hardware));
      assert.ok((body.hardware.ram_gb ?? 0) > 0, JSON.stringify(body.hardware));
    });

    it('/ready needs the token and says whether the model is pulled', async () => {
      assert.equal((await fetch(`${worker.url}/ready`)).status, 401);
      const ok = await fetch(`${worker.url}/ready`, { headers: auth() });
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { status: 'ready' });
      const w = await startWorker({ model: 'mistral:7b' });
      const missing = await fetch(`${w.url}/ready`, { headers: auth() });
      assert.equal(missing.status, 503);
      assert.deepEqual(await missing.json(), { status: 'not_ready', reason: 'model mistral:7b is not pulled' });
    });
  });

  describe('auth', () => {
    const routes: [string, string, unknown?][] = [
      ['GET', '/ready'],
      ['GET', '/api/tags'],
      ['POST', '/api/chat', { model: MODEL, messages: [{ role: 'user', content: 'hi' }] }],
      ['POST', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }] }],
      ['GET', '/v1/models'],
      ['POST', '/api/complete', { messages: [{ role: 'user', content: 'hi' }] }],
      ['GET', '/no/such/route'],
    ];

    it('answers 401 without detail to a missing, wrong or malformed token on every route but /health, and forwards nothing', async () => {
      for (const [method, path, body] of routes) {
        for (const headers of [{}, auth(WRONG), { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
          const res = await fetch(`${worker.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
          assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
          assert.equal(res.headers.get('www-authenticate'), 'Bearer');
          assert.equal(await res.text(), '{"error":"unauthorized"}');
        }
      }
      assert.deepEqual(fake.requests.map((r) => r.path), [], 'nothing reached Ollama');
    });

    it('lets the right token through and never forwards it to Ollama', async () => {
      const res = await fetch(`${worker.url}/api/tags`, { headers: auth() });
      assert.equal(res.status, 200);
      const listed = (await res.json()) as { models: { name: string }[] };
      assert.deepEqual(listed.models.map((m) => m.name), [MODEL, 'llama3.2:3b']);
      const seen = fake.requests.at(-1)!;
      assert.equal(seen.path, '/api/tags');
      assert.equal(seen.headers.authorization, undefined);
    });

    it('the official clients see a 401 with a wrong token', async () => {
      const ollama = new Ollama({ host: worker.url, headers: auth(WRONG) });
      await assert.rejects(ollama.list(), (err: { status_code?: number }) => err.status_code === 401);
      const openai = new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: WRONG, maxRetries: 0 });
      await assert.rejects(openai.models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError);
    });

    it('serves everything without a token when none is set', async () => {
      const open = await startWorker({ token: undefined });
      assert.equal((await fetch(`${open.url}/api/tags`)).status, 200);
      assert.equal((await fetch(`${open.url}/ready`)).status, 200);
    });
  });

  describe('proxy', () => {
    it('streams /api/chat to the official ollama client chunk by chunk, as Ollama sends it', async () => {
      fake.setOptions({ chunkDelayMs: 60 });
      const ollama = new Ollama({ host: worker.url, headers: auth() });
      const started = Date.now();
      const stream = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'Say hello' }], stream: true });
      const parts: { at: number; text: string; done: boolean }[] = [];
      for await (const part of stream) parts.push({ at: Date.now() - started, text: part.message.content, done: part.done });
      const text = parts.map((p) => p.text).join('');
      assert.equal(text, `Hello from ${MODEL}! You said: "Say hello". Grüße 👋 — this is a fake answer.`);
      assert.ok(parts.length > 5);
      assert.equal(parts.at(-1)!.done, true);
      // Not buffered: the first token arrives long before the last.
      const first = parts[0]!.at;
      const last = parts.at(-1)!.at;
      assert.ok(last - first >= 60 * (parts.length - 2), `spread ${first}..${last} ms over ${parts.length} parts`);
      const seen = fake.requests.find((r) => r.path === '/api/chat')!;
      assert.equal(seen.headers.authorization, undefined);
      assert.deepEqual((seen.body as { messages: unknown }).messages, [{ role: 'user', content: 'Say hello' }]);
    });

    it('streams /v1/chat/completions to the official openai client', async () => {
      const openai = new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
      const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi there' }], stream: true });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta.content ?? '';
      }
      assert.equal(text, `Hello from ${MODEL}! You said: "Hi there". Grüße 👋 — this is a fake answer.`);
      assert.ok(chunks > 3);
      const models = await openai.models.list();
      assert.deepEqual(models.data.map((m) => m.id), [MODEL, 'llama3.2:3b']);
    });

    it('passes Ollama\'s own errors through with their status', async () => {
      const res = await post('/api/chat', { model: 'not-pulled:1b', messages: [{ role: 'user', content: 'x' }] });
      assert.equal(res.status, 404);
      assert.match(((await res.json()) as { error: string }).error, /not found/);
    });

    it('cancels the request on Ollama when the client goes away', async () => {
      fake.setOptions({ chunkDelayMs: 200 });
      const ollama = new Ollama({ host: worker.url, headers: auth() });
      const stream = await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'a long answer please' }], stream: true });
      for await (const _part of stream) {
        stream.abort();
        break;
      }
      const aborted = await fake.waitForClientAbort(3000);
      assert.equal(aborted.path, '/api/chat');
      await waitUntil(() => worker.inFlight === 0 && fake.inFlight === 0, 2000, 'in-flight counts back to 0');
    });

    it('cuts the client\'s stream when Ollama dies mid-answer, rather than ending it cleanly', async () => {
      await fake.setFault({ type: 'die_mid_stream', afterChunks: 2 });
      const res = await post('/api/chat', { model: MODEL, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(res.status, 200);
      await assert.rejects(res.text());
    });

    it('answers 502 in Ollama\'s error shape when Ollama is unreachable', async () => {
      await fake.setFault({ type: 'refuse' });
      const res = await post('/api/chat', { model: MODEL, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(res.status, 502);
      assert.deepEqual(await res.json(), { error: 'ollama unreachable' });
    });
  });

  describe('POST /api/complete (Harombe 0.3.1 workers\' API)', () => {
    /** What the Python RemoteLLMClient sends: dataclasses.asdict(Message) for each message. */
    const pyMessage = (role: string, content: string, extra: Record<string, unknown> = {}) => ({ role, content, tool_calls: null, tool_call_id: null, name: null, ...extra });
    const readFileTool = { type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } } };

    it('answers {content, tool_calls: null} from one non-streaming Ollama chat', async () => {
      const res = await post('/api/complete', { messages: [pyMessage('system', 'Be brief.'), pyMessage('user', 'What is 2+2?')], tools: null, temperature: 0.3 });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        content: `Hello from ${MODEL}! You said: "What is 2+2?". Grüße 👋 — this is a fake answer.`,
        tool_calls: null,
        finish_reason: 'stop',
      });
      const seen = fake.requests.find((r) => r.path === '/api/chat')!.body as Record<string, unknown>;
      assert.deepEqual(seen, {
        model: MODEL,
        messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is 2+2?' }],
        stream: false,
        options: { temperature: 0.3 },
      });
    });

    it('passes tools through and maps tool calls to {id, name, arguments}, and tool results back', async () => {
      fake.setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: 'src/a.ts' } }] });
      const first = await post('/api/complete', { messages: [pyMessage('user', 'Read src/a.ts')], tools: [readFileTool], temperature: 0.7 });
      assert.equal(first.status, 200);
      const answer = (await first.json()) as { content: string; tool_calls: { id: string; name: string; arguments: unknown }[]; finish_reason: string };
      assert.equal(answer.content, '');
      assert.equal(answer.finish_reason, 'tool_calls');
      assert.equal(answer.tool_calls.length, 1);
      assert.match(answer.tool_calls[0]!.id, /^call_[0-9a-f]{24}$/);
      assert.deepEqual({ ...answer.tool_calls[0], id: undefined }, { id: undefined, name: 'read_file', arguments: { path: 'src/a.ts' } });
      assert.deepEqual((fake.requests.at(-1)!.body as { tools: unknown }).tools, [readFileTool]);

      // The next turn, as the Python agent loop sends it: the call, then its result.
      const call = answer.tool_calls[0]!;
      const second = await post('/api/complete', {
        messages: [
          pyMessage('user', 'Read src/a.ts'),
          pyMessage('assistant', '', { tool_calls: [call] }),
          pyMessage('tool', 'export const a = 1;', { tool_call_id: call.id, name: 'read_file' }),
        ],
        tools: [readFileTool],
        temperature: 0.7,
      });
      assert.equal(second.status, 200);
      const done = (await second.json()) as { content: string; tool_calls: unknown };
      assert.equal(done.tool_calls, null);
      assert.match(done.content, /Hello from qwen2\.5:14b/);
      assert.deepEqual((fake.requests.at(-1)!.body as { messages: unknown }).messages, [
        { role: 'user', content: 'Read src/a.ts' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'read_file', arguments: { path: 'src/a.ts' } } }] },
        { role: 'tool', content: 'export const a = 1;', tool_name: 'read_file' },
      ]);
    });

    it('answers FastAPI-style errors: 400 not JSON, 422 invalid, 502 Ollama error, 503 Ollama down, 405 wrong method', async () => {
      const notJson = await fetch(`${worker.url}/api/complete`, { method: 'POST', headers: auth(), body: '{nope' });
      assert.equal(notJson.status, 400);
      assert.deepEqual(await notJson.json(), { detail: 'request body is not JSON' });

      const invalid = await post('/api/complete', { messages: [] });
      assert.equal(invalid.status, 422);
      assert.match(((await invalid.json()) as { detail: string }).detail, /^invalid request: messages/);

      const w = await startWorker({ model: 'not-pulled:1b' });
      const upstreamError = await fetch(`${w.url}/api/complete`, { method: 'POST', headers: auth(), body: JSON.stringify({ messages: [pyMessage('user', 'x')] }) });
      assert.equal(upstreamError.status, 502);
      assert.match(((await upstreamError.json()) as { detail: string }).detail, /^ollama: model "not-pulled:1b" not found/);

      const wrongMethod = await fetch(`${worker.url}/api/complete`, { headers: auth() });
      assert.equal(wrongMethod.status, 405);

      await fake.setFault({ type: 'refuse' });
      const down = await post('/api/complete', { messages: [pyMessage('user', 'x')] });
      assert.equal(down.status, 503);
      assert.deepEqual(await down.json(), { detail: 'ollama unreachable' });
    });

    it('cancels the Ollama request when the client goes away', async () => {
      await fake.setFault({ type: 'hang' });
      const ac = new AbortController();
      const pending = fetch(`${worker.url}/api/complete`, { method: 'POST', headers: auth(), body: JSON.stringify({ messages: [pyMessage('user', 'x')] }), signal: ac.signal });
      await waitUntil(() => fake.requests.some((r) => r.path === '/api/chat'), 2000, 'the request to reach Ollama');
      ac.abort();
      await assert.rejects(pending);
      const aborted = await fake.waitForClientAbort(3000);
      assert.equal(aborted.path, '/api/chat');
      await waitUntil(() => worker.inFlight === 0, 2000, 'the worker to forget the request');
    });
  });

  it('stops: refuses new connections afterwards', async () => {
    const w = await startWorker();
    const url = w.url;
    await w.stop();
    await assert.rejects(fetch(`${url}/health`));
  });
});

async function waitUntil(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
