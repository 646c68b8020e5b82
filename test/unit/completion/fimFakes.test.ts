import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import { buildCompletionPrompt } from '../../../src/core/completion/completionPrompt';
import { Coordinator } from '../../../src/core/coordinator';
import { Canceller } from '../../../src/core/util/canceller';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakeOpenAI } from '../../fakes/fakeOpenAI';

const source = 'function add(a: number, b: number) {\n  return \n}\n';
const cursor = source.indexOf('return ') + 'return '.length;
const prompt = () => buildCompletionPrompt(source, cursor, [], { tokens: 1024 });
const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('FIM fakes: llama.cpp /infill, latency profiles, generations stopped by a cancel', function () {
  this.timeout(20_000);
  let cluster: FakeCluster | undefined;
  let coordinator: Coordinator | undefined;
  const servers: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    coordinator?.dispose();
    coordinator = undefined;
    await cluster?.stop();
    cluster = undefined;
    for (const s of servers.splice(0)) await s.stop();
  });

  it("answers /infill as llama.cpp's server does: content and timings, n_predict as a cap, SSE without [DONE]", async () => {
    const fake = await FakeOpenAI.start({ models: ['qwen2.5-coder-1.5b-q8_0.gguf'], fim: (p, s) => (p.endsWith('return ') && s.startsWith('\n}') ? 'a + b; // sum' : 'wrong') });
    servers.push(fake);
    const one = await post(`${fake.url}/infill`, { input_prefix: 'function add(a, b) {\n  ', prompt: 'return ', input_suffix: '\n}\n', input_extra: [{ filename: 'x.ts', text: 'const x = 1;' }], n_predict: 2, cache_prompt: true });
    assert.equal(one.status, 200);
    const body = (await one.json()) as { content: string; stop: boolean; stop_type: string; tokens_predicted: number; tokens_cached: number; timings: { predicted_n: number } };
    assert.equal(body.content, 'a +');
    assert.equal(body.stop_type, 'limit');
    assert.equal(body.tokens_predicted, 2);
    assert.equal(body.timings.predicted_n, 2);
    assert.ok(body.tokens_cached > 0);

    const streamed = await (await post(`${fake.url}/infill`, { input_prefix: 'return ', input_suffix: '\n}', stream: true })).text();
    const events = streamed.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')) as { content: string; stop: boolean });
    assert.equal(events.map((e) => e.content).join(''), 'a + b; // sum');
    assert.deepEqual(events.map((e) => e.stop), [...events.slice(1).map(() => false), true]);
    assert.ok(!streamed.includes('[DONE]'));
  });

  it('refuses /infill as llama.cpp does: 400 for a bad body, 501 for a model without FIM tokens, 404 where there is no /infill', async () => {
    const fake = await FakeOpenAI.start({ fim: () => 'x' });
    const noTokens = await FakeOpenAI.start({ fim: () => 'x', fimTokens: false });
    const vllm = await FakeOpenAI.start({});
    servers.push(fake, noTokens, vllm);
    const missing = await post(`${fake.url}/infill`, { input_prefix: 'a' });
    assert.equal(missing.status, 400);
    assert.deepEqual(await missing.json(), { error: { code: 400, message: '"input_suffix" is required', type: 'invalid_request_error' } });
    assert.equal((await post(`${fake.url}/infill`, { input_prefix: 'a', input_suffix: '', input_extra: 'no' })).status, 400);
    const unsupported = await post(`${noTokens.url}/infill`, { input_prefix: 'a', input_suffix: '' });
    assert.equal(unsupported.status, 501);
    assert.match(((await unsupported.json()) as { error: { message: string } }).error.message, /^Infill is not supported by this model/);
    assert.equal((await post(`${vllm.url}/infill`, { input_prefix: 'a', input_suffix: '' })).status, 404);
  });

  it('FimClient fills in the middle through /infill on an OpenAI-compatible node, with its server-side caps', async () => {
    cluster = await startFakeCluster([{ name: 'llama', tier: 0, flavour: 'openai', model: 'qwen2.5-coder:1.5b', options: { fim: () => 'a + b;' } }], { health: { timeout: 1, interval: 60 } });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
    const engine = coordinator.createCompletionEngine(() => ({ tier: 0 }));
    const result = await engine.complete({ file: 'a.ts', prompt: prompt(), signal: new Canceller() });
    assert.equal(result?.text, 'a + b;');
    const sent = cluster.node('llama').requests.find((r) => r.path === '/infill')?.body as Record<string, unknown>;
    assert.ok(String(sent.input_prefix).endsWith('return '));
    assert.equal(sent.input_suffix, '\n}\n');
    assert.equal(sent.cache_prompt, true);
    assert.ok(typeof sent.n_predict === 'number' && sent.n_predict > 0);
    assert.ok(typeof sent.t_max_predict_ms === 'number' && sent.t_max_predict_ms > 0);
  });

  it('a cancel during /infill prompt processing stops the work on the node: counted as an aborted generation', async () => {
    cluster = await startFakeCluster([{ name: 'llama', tier: 0, flavour: 'openai', model: 'qwen2.5-coder:1.5b', options: { fim: () => 'a + b;', firstTokenDelayMs: 60_000 } }], { health: { timeout: 1, interval: 60 } });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
    const engine = coordinator.createCompletionEngine(() => ({ tier: 0 }));
    const fake = cluster.node('llama');
    const signal = new Canceller();
    const pending = engine.complete({ file: 'a.ts', prompt: prompt(), signal });
    while (!fake.requests.some((r) => r.path === '/infill')) await new Promise((r) => setImmediate(r));
    const aborted = fake.waitForClientAbort(10_000);
    signal.abort();
    assert.equal(await pending, undefined);
    const record = await aborted;
    // Stopped without waiting out the 60 s of prompt processing: the test would time out otherwise.
    await until(() => record.stoppedAt !== undefined);
    assert.equal(fake.abortedGenerations, 1);
    assert.equal(fake.inFlight, 0);
  });

  it('the official ollama client: generate with suffix, a latency profile per request, and abort() stopping the generation mid-way', async () => {
    const delays = [0, 300];
    const fake = await FakeOllama.start({ models: ['qwen2.5-coder:1.5b'], fim: (p, s) => `<${p}|${s}>${' more'.repeat(50)}`, firstTokenDelayMs: () => delays.shift() ?? 0 });
    servers.push(fake);
    const client = new Ollama({ host: fake.url });
    const fast = await client.generate({ model: 'qwen2.5-coder:1.5b', prompt: 'a', suffix: 'b', stream: false });
    assert.ok((fast.response ?? '').startsWith('<a|b>'), fast.response);
    assert.equal(fake.requests[0]?.recordsWritten, undefined, 'one JSON body, no records streamed');
    // The second request waits 300 ms for its first record (the profile), then streams slowly.
    fake.setOptions({ chunkDelayMs: 50 });
    const stream = await client.generate({ model: 'qwen2.5-coder:1.5b', prompt: 'c', suffix: 'd', stream: true });
    const aborted = fake.waitForClientAbort(10_000);
    let got = '';
    await assert.rejects(
      (async () => {
        for await (const part of stream) {
          got += part.response;
          if (got.length > 5) stream.abort();
        }
      })(),
      /abort/i,
    );
    assert.ok(got.startsWith('<c|d>'));
    const record = await aborted;
    await until(() => record.stoppedAt !== undefined);
    assert.equal(fake.abortedGenerations, 1);
    assert.ok((record.recordsWritten ?? 0) > 0 && (record.recordsWritten ?? 0) < 50, `stopped mid-way after ${record.recordsWritten} records`);
  });
});

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 5));
}
