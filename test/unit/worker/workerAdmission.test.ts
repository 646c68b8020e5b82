import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { silentLogger } from '../../../src/core/util/logger';
import { WorkerServer } from '../../../src/node/workerServer';
import { FakeOllama } from '../../fakes/fakeOllama';

/** Admission at the worker: every client counted, at most max_parallel served, a bounded queue, 503 + Retry-After past it. */

const MODEL = 'qwen2.5:7b';

describe('worker admission (harombe start)', function () {
  this.timeout(15_000);
  let fake: FakeOllama;
  let worker: WorkerServer;

  beforeEach(async () => {
    // 40 ms per record: an answer takes a few hundred ms, long enough to fill the worker.
    fake = await FakeOllama.start({ models: [MODEL], chunkDelayMs: 40, numParallel: 8 });
    worker = await WorkerServer.start({
      host: '127.0.0.1',
      port: 0,
      ollamaUrl: fake.url,
      model: MODEL,
      tier: 0,
      version: '0.1.0',
      nodeId: 'n1',
      maxParallel: 2,
      maxQueue: 1,
      temperature: 0.7,
      upstreamTimeoutMs: 5000,
      logger: silentLogger,
      detectHardware: async () => ({}),
      healthCacheMs: 0,
    });
  });

  afterEach(async () => {
    await worker.stop();
    await fake.stop();
  });

  const chat = (content: string) =>
    fetch(`${worker.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }] }) });
  const load = async () => (({ running, queued, max_parallel, max_queue }) => ({ running, queued, max_parallel, max_queue }))((await (await fetch(`${worker.url}/load`)).json()) as { running: number; queued: number; max_parallel: number; max_queue: number });
  const until = async (cond: () => Promise<boolean>) => {
    for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 5));
  };

  it('serves at most max_parallel, queues max_queue, and answers the rest 503 + Retry-After before Ollama sees it', async () => {
    const running = [chat('one'), chat('two')];
    await until(async () => (await load()).running === 2);
    const queued = chat('three');
    await until(async () => (await load()).queued === 1);
    assert.deepEqual(await load(), { running: 2, queued: 1, max_parallel: 2, max_queue: 1 });
    const seenByOllama = fake.requests.filter((r) => r.path === '/api/chat').length;
    const refused = await chat('four');
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1, `Retry-After ${refused.headers.get('retry-after')}`);
    const body = (await refused.json()) as { error: string };
    assert.match(body.error, /server busy/);
    assert.equal(fake.requests.filter((r) => r.path === '/api/chat').length, seenByOllama, 'the refused request never reached Ollama');
    const answers = await Promise.all([...running, queued]);
    for (const a of answers) assert.equal(a.status, 200);
    await Promise.all(answers.map((a) => a.text()));
    assert.ok(answers[2]!.headers.get('x-harombe-queue-wait-ms'), 'the queued answer says it waited');
    assert.ok(fake.peakGenerating <= 2, `Ollama generated ${fake.peakGenerating} at once`);
    assert.deepEqual(await load(), { running: 0, queued: 0, max_parallel: 2, max_queue: 1 });
  });

  it('refuses in the shape of the API called: OpenAI {error:{…}}, FastAPI {detail}; the official clients see a 503', async () => {
    const running = [chat('one'), chat('two'), chat('three')];
    await until(async () => (await load()).queued === 1);
    const openai = new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }), (err: { status?: number; error?: { code?: string; message?: string } }) => {
      assert.equal(err.status, 503);
      assert.equal(err.error?.code, 'server_busy');
      return true;
    });
    const ollama = new Ollama({ host: worker.url });
    await assert.rejects(ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }), (err: { status_code?: number; error?: string }) => {
      assert.equal(err.status_code, 503);
      assert.match(String(err.error), /server busy/);
      return true;
    });
    const complete = await fetch(`${worker.url}/api/complete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi' }) });
    assert.equal(complete.status, 503);
    assert.match(((await complete.json()) as { detail: string }).detail, /server busy/);
    await Promise.all((await Promise.all(running)).map((r) => r.text()));
  });

  it('listing models never waits behind inference, and /health reports running and queued', async () => {
    const running = [chat('one'), chat('two'), chat('three')];
    await until(async () => (await load()).queued === 1);
    const tags = await fetch(`${worker.url}/api/tags`);
    assert.equal(tags.status, 200);
    await tags.text();
    const health = (await (await fetch(`${worker.url}/health`)).json()) as { running: number; queued: number; max_parallel: number };
    assert.deepEqual([health.running, health.queued, health.max_parallel], [2, 1, 2]);
    await Promise.all((await Promise.all(running)).map((r) => r.text()));
  });

  it('a client that leaves mid-answer frees its slot at once', async () => {
    const ac = new AbortController();
    const res = await fetch(`${worker.url}/api/chat`, { method: 'POST', signal: ac.signal, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'long' }] }) });
    assert.equal(res.status, 200);
    assert.equal((await load()).running, 1);
    ac.abort();
    await until(async () => (await load()).running === 0);
    assert.equal((await load()).running, 0);
  });
});
