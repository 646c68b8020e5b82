import { strict as assert } from 'node:assert';
import { CompletionEngine as CompletionEngineClass, type CompletionEngine, type CompletionRouting } from '../../../src/core/completion/completionEngine';
import { silentLogger } from '../../../src/core/util/logger';
import { buildCompletionPrompt } from '../../../src/core/completion/completionPrompt';
import { Coordinator } from '../../../src/core/coordinator';
import { Canceller } from '../../../src/core/util/canceller';
import { startFakeCluster, type FakeCluster, type FakeNodeSpec } from '../../fakes/fakeCluster';
import type { RecordedRequest } from '../../fakes/fakeServer';

const FIM = 'qwen2.5-coder:1.5b';
const source = 'function add(a: number, b: number) {\n  return \n}\n';
const cursor = source.indexOf('return ') + 'return '.length;
const prompt = () => buildCompletionPrompt(source, cursor, [], { tokens: 1024 });
const generates = (reqs: readonly RecordedRequest[]) => reqs.filter((r) => r.path === '/api/generate');

describe('CompletionEngine: ghost text from the fastest free node', function () {
  this.timeout(20_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;
  let engine: CompletionEngine;
  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
  });

  async function setup(specs: FakeNodeSpec[], routing: CompletionRouting = { tier: 0 }) {
    cluster = await startFakeCluster(specs, { health: { timeout: 1, interval: 60 } });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
    engine = coordinator.createCompletionEngine(() => routing);
  }

  it('fills in the middle through Ollama /api/generate with prompt + suffix, a server-side cap and the chat window', async () => {
    await setup([{ name: 'fim', tier: 0, model: FIM, options: { fim: () => 'a + b;' } }]);
    const result = await engine.complete({ file: 'a.ts', prompt: prompt(), signal: new Canceller() });
    assert.equal(result?.text, 'a + b;');
    assert.equal(result?.node, 'fim');
    const sent = generates(cluster.node('fim').requests)[0]?.body as { prompt: string; suffix: string; raw?: boolean; options: { num_predict: number; num_ctx: number } };
    assert.ok(sent.prompt.endsWith('return '));
    assert.equal(sent.suffix, '\n}\n');
    assert.equal(sent.raw, undefined);
    assert.ok(sent.options.num_predict > 0 && sent.options.num_predict <= 128);
    assert.equal(sent.options.num_ctx, coordinator.nodes()[0]?.contextWindow.tokens);
  });

  it("uses the family's FIM tokens with raw:true for a model without insert, and skips models it cannot use", async () => {
    await setup([
      { name: 'chatty', tier: 0, model: 'gemma2:2b' },
      { name: 'coder', tier: 0, model: 'codellama:7b', options: { modelInfo: { 'codellama:7b': { capabilities: ['completion'] } }, fim: (p) => (p.includes('<PRE>') ? 'a + b;' : 'wrong') } },
    ]);
    assert.deepEqual(engine.rankNodes().map((n) => n.name), ['coder']);
    const result = await engine.complete({ file: 'a.ts', prompt: prompt(), signal: new Canceller() });
    assert.equal(result?.text, 'a + b;');
    const sent = generates(cluster.node('coder').requests)[0]?.body as { prompt: string; raw: boolean };
    assert.equal(sent.raw, true);
    assert.ok(sent.prompt.startsWith('<PRE> ') && sent.prompt.endsWith('return  <SUF>\n}\n <MID>'), sent.prompt);
    assert.equal(generates(cluster.node('chatty').requests).length, 0);
  });

  it('keeps completions off a node busy with chat while another completion node is free', async () => {
    await setup([
      { name: 'a', tier: 0, model: FIM, options: { fim: () => 'from a' } },
      { name: 'b', tier: 0, model: FIM, options: { fim: () => 'from b' } },
    ]);
    const release = coordinator.registry.acquire('a');
    try {
      for (let i = 0; i < 3; i++) {
        const r = await engine.complete({ file: `f${i}.ts`, prompt: prompt(), signal: new Canceller() });
        assert.equal(r?.node, 'b');
      }
    } finally {
      release();
    }
    assert.equal(generates(cluster.node('a').requests).length, 0);
  });

  it('a new keystroke cancels the request on the node: the node sees the client go away', async () => {
    await setup([{ name: 'fim', tier: 0, model: FIM, options: { firstTokenDelayMs: 5_000 } }]);
    const signal = new Canceller();
    const pending = engine.complete({ file: 'a.ts', prompt: prompt(), signal });
    const fake = cluster.node('fim');
    while (generates(fake.requests).length === 0) await new Promise((r) => setImmediate(r));
    const abortedOnNode = fake.waitForClientAbort(10_000);
    signal.abort();
    assert.equal(await pending, undefined);
    const record = await abortedOnNode;
    assert.equal(record.path, '/api/generate');
    assert.equal(record.recordsWritten ?? 0, 0, 'nothing was generated for it');
    assert.equal(engine.counts.cancelled, 1);
  });

  it('never cancels a request whose model is still loading: it finishes and serves the next keystroke from the cache', async () => {
    await setup([{ name: 'cold', tier: 0, model: FIM, options: { loaded: [], firstTokenDelayMs: 150, fim: () => 'a + b;' } }]);
    const signal = new Canceller();
    const pending = engine.complete({ file: 'a.ts', prompt: prompt(), signal });
    const fake = cluster.node('cold');
    while (generates(fake.requests).length === 0) await new Promise((r) => setImmediate(r));
    signal.abort();
    assert.equal(await pending, undefined);
    // The load goes on; its answer lands in the cache.
    while (!generates(fake.requests)[0]?.recordsWritten && !generates(fake.requests)[0]?.aborted) await new Promise((r) => setTimeout(r, 10));
    assert.equal(generates(fake.requests)[0]?.aborted, false);
    let again;
    for (let i = 0; i < 100 && !again?.fromCache; i++) {
      again = await engine.complete({ file: 'a.ts', prompt: prompt(), signal: new Canceller() });
      if (!again?.fromCache) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(again?.fromCache, true);
    assert.equal(again?.text, 'a + b;');
  });

  it('hedges to the next node when the first has not started by its p95, takes the first answer and cancels the other', async () => {
    await setup([
      { name: 'slow', tier: 0, model: FIM, options: { firstTokenDelayMs: 5_000, fim: () => 'slow' } },
      { name: 'fast', tier: 0, model: FIM, options: { fim: () => 'fast' } },
    ]);
    // Make the slow node look fastest on record, so it is tried first.
    for (let i = 0; i < 10; i++) engine.latency.record('slow', 20);
    for (let i = 0; i < 10; i++) engine.latency.record('fast', 40);
    assert.equal(engine.rankNodes()[0]?.name, 'slow');
    const abortedOnSlow = cluster.node('slow').waitForClientAbort(10_000);
    const r = await engine.complete({ file: 'a.ts', prompt: prompt(), signal: new Canceller() });
    assert.equal(r?.node, 'fast');
    assert.equal(r?.hedged, true);
    assert.equal((await abortedOnSlow).path, '/api/generate');
    assert.equal(engine.counts.hedged, 1);
  });

  it('spends at most one hedge in ten requests', async () => {
    await setup([
      { name: 'slow', tier: 0, model: FIM, options: { firstTokenDelayMs: 200, fim: () => 'slow' } },
      { name: 'fast', tier: 0, model: FIM, options: { fim: () => 'fast' } },
    ]);
    for (let i = 0; i < 20; i++) {
      for (let k = 0; k < 10; k++) engine.latency.record('slow', 1);
      engine.latency.record('fast', 1_000);
      await engine.complete({ file: `f${i}.ts`, prompt: prompt(), signal: new Canceller() });
    }
    assert.equal(engine.counts.requested, 20);
    assert.ok(engine.counts.hedged <= 2, `hedged ${engine.counts.hedged} of 20`);
    assert.ok(engine.counts.hedged >= 1);
  });
});

describe('CompletionEngine: when to hedge', () => {
  const engineWith = (hedgeBudget?: number) =>
    new CompletionEngineClass({
      nodes: () => [],
      isEligible: () => true,
      acquire: () => () => undefined,
      backend: { complete: () => Promise.reject(new Error('unused')) },
      routing: () => ({ tier: 0 }),
      clock: { now: () => 0 },
      logger: silentLogger,
      hedgeBudget,
    });

  it("hedges at three times the node's median when its slow spells sit inside its p95 (one request in ten slow)", () => {
    const engine = engineWith();
    for (let i = 0; i < 50; i++) engine.latency.record('spiky', i % 10 === 0 ? 800 : 60);
    assert.equal(engine.hedgeDelay('spiky'), 180);
  });

  it('hedges at the p95 of a node whose tail is rare, and never sooner than 120 ms', () => {
    const engine = engineWith();
    for (let i = 0; i < 100; i++) engine.latency.record('steady', i < 97 ? 100 : 250);
    assert.equal(engine.hedgeDelay('steady'), 250);
    for (let i = 0; i < 50; i++) engine.latency.record('quick', 10);
    assert.equal(engine.hedgeDelay('quick'), 120);
  });
});
