import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { fakeVector } from '../../fakes/embeddingAnswers';
import { fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';
import { startGateway, type GatewayHarness } from './gatewayHarness';

const EMBED = 'nomic-embed-text';
const breaker = { failure_threshold: 1000, timeout: 0.3, half_open_timeout: 2 };

/**
 * The routes Continue, Open WebUI and OpenAI-style autocomplete plugins call besides chat,
 * through the official clients, each with a node failing before its answer.
 */
describe('gateway: /api/show, embeddings and /v1/completions', function () {
  this.timeout(20_000);
  let h: GatewayHarness;

  afterEach(async () => {
    await h?.stop();
  });

  const requestsTo = (node: string, path: string) => h.cluster.node(node).requests.filter((r) => r.path === path).length;

  describe('/api/show', () => {
    beforeEach(async () => {
      h = await startGateway(
        [
          { name: 'small', tier: 0, model: 'qwen2.5:3b' },
          { name: 'coder', tier: 1, model: 'qwen2.5-coder:7b' },
          { name: 'big', tier: 2, model: 'qwen2.5:72b', options: { models: ['qwen2.5:72b', 'qwen2.5-coder:7b'] } },
          { name: 'gemma', tier: 2, model: 'gemma2:9b' },
          { name: 'embedder', tier: 0, model: EMBED },
        ],
        { routing: { load_balance: false }, circuit_breaker: breaker },
      );
      // A probe's /api/show can miss its timeout on a busy machine; the synthesis is about known facts.
      for (let i = 0; i < 20 && h.coordinator.nodes().some((n) => n.capabilities.source === 'unknown'); i++) await h.coordinator.prober.sweep();
    });

    it('for harombe: the largest window of the route, the capabilities every node of it shares, nothing that misleads', async () => {
      const ollama = new Ollama({ host: h.url });
      const nodes = h.coordinator.nodes();
      const windowOf = (name: string) => nodes.find((n) => n.name === name)!.contextWindow.tokens;
      const auto = await ollama.show({ model: 'harombe' });
      const chatNodes = ['small', 'coder', 'big', 'gemma'];
      const largest = Math.max(...chatNodes.map(windowOf));
      assert.equal((auto.model_info as unknown as Record<string, unknown>)['harombe.context_length'], largest);
      assert.match(auto.parameters, new RegExp(`^num_ctx\\s+${largest}$`));
      // gemma2 takes no tools, so the route as a whole does not promise them; the embedding model is not part of it.
      assert.deepEqual(auto.capabilities, ['completion']);
      assert.deepEqual((auto.model_info as unknown as Record<string, unknown>)['harombe.nodes'], chatNodes);
      assert.doesNotMatch(auto.template, /Suffix/, 'no fill-in-the-middle claimed');
      assert.equal(auto.details.family, 'harombe');

      const tier1 = await ollama.show({ model: 'harombe:tier1' });
      assert.deepEqual(tier1.capabilities, ['completion', 'tools', 'insert'], 'the coder node alone: it fills in the middle');
      assert.match(tier1.template, /\.Suffix/);
      assert.equal((tier1.model_info as unknown as Record<string, unknown>)['harombe.context_length'], windowOf('coder'));
    });

    it('for a real model: the answer of a node that has it, the other one when it fails', async () => {
      const ollama = new Ollama({ host: h.url });
      const showVia = async () => {
        const res = await fetch(`${h.url}/api/show`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5-coder:7b' }) });
        return { node: res.headers.get('x-harombe-node'), body: (await res.json()) as { capabilities: string[]; model_info: Record<string, unknown> } };
      };
      // Each of the two nodes that have the model refuses in turn: whichever is asked first, the other answers.
      await h.cluster.node('coder').setFault({ type: 'refuse' });
      const fromBig = await showVia();
      assert.equal(fromBig.node, 'big');
      assert.deepEqual(fromBig.body.capabilities, ['completion', 'tools', 'insert']);
      assert.equal(fromBig.body.model_info['qwen2.context_length'], 32768);
      await h.cluster.node('coder').setFault({ type: 'none' });
      await h.cluster.node('big').setFault({ type: 'refuse' });
      assert.equal((await showVia()).node, 'coder');
      const shown = await ollama.show({ model: 'qwen2.5-coder:7b' });
      assert.deepEqual(shown.capabilities, ['completion', 'tools', 'insert']);
      await assert.rejects(ollama.show({ model: 'llama9:1b' }), /not found/);
    });
  });

  describe('embeddings', () => {
    // `chat` has the embedding model besides its own; `embedder` serves only it. Tier 0 is asked first.
    async function setup() {
      h = await startGateway(
        [
          { name: 'embedder', tier: 0, model: EMBED },
          { name: 'chat', tier: 1, model: 'qwen2.5:7b', options: { models: ['qwen2.5:7b', EMBED] } },
          { name: 'oai', tier: 2, flavour: 'openai', model: 'llama3.1:8b' },
        ],
        { routing: { load_balance: false }, circuit_breaker: breaker },
      );
    }

    it('/api/embed through ollama.embed(): one vector per input, in order, after the first node fails', async () => {
      await setup();
      await h.cluster.node('embedder').setFault({ type: 'die_before_headers' });
      const inputs = ['first text', 'second text', 'third text', 'fourth'];
      const res = await new Ollama({ host: h.url }).embed({ model: EMBED, input: inputs });
      assert.deepEqual(res.embeddings, inputs.map((t) => fakeVector(EMBED, t)));
      assert.equal(requestsTo('embedder', '/api/embed'), 1, 'the first node was asked');
      assert.equal(requestsTo('chat', '/api/embed'), 1, 'the other node answered');
      assert.equal(h.coordinator.metrics.snapshot().fallbacks, 1);
    });

    it('fails over across tiers even with fallback_strategy: strict (tiers are sizes of chat models)', async () => {
      h = await startGateway(
        [
          { name: 'embedder', tier: 0, model: EMBED },
          { name: 'chat', tier: 1, model: 'qwen2.5:7b', options: { models: ['qwen2.5:7b', EMBED] } },
        ],
        { routing: { load_balance: false, fallback_strategy: 'strict' }, circuit_breaker: breaker },
      );
      await h.cluster.node('embedder').setFault({ type: 'die_before_headers' });
      const res = await new Ollama({ host: h.url }).embed({ model: EMBED, input: 'x' });
      assert.deepEqual(res.embeddings, [fakeVector(EMBED, 'x')]);
      assert.equal(requestsTo('embedder', '/api/embed'), 1);
      assert.equal(requestsTo('chat', '/api/embed'), 1);
    });

    it('/api/embeddings (older clients) through ollama.embeddings(): the node\'s own /api/embeddings, after a failure', async () => {
      await setup();
      await h.cluster.node('embedder').setFault({ type: 'status', status: 502 });
      const res = await new Ollama({ host: h.url }).embeddings({ model: EMBED, prompt: 'legacy text' });
      assert.deepEqual(res.embedding, fakeVector(EMBED, 'legacy text', false));
      assert.equal(requestsTo('chat', '/api/embeddings'), 1);
    });

    it('/v1/embeddings through openai embeddings.create() (base64 by default, and float), after a failure', async () => {
      await setup();
      const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
      await h.cluster.node('embedder').setFault({ type: 'die_before_headers' });
      const inputs = ['alpha', 'beta', 'gamma'];
      const res = await openai.embeddings.create({ model: EMBED, input: inputs });
      assert.deepEqual(res.data.map((d) => d.index), [0, 1, 2]);
      assert.deepEqual(res.data.map((d) => Array.from(d.embedding)), inputs.map((t) => fakeVector(EMBED, t)));
      const floats = await openai.embeddings.create({ model: EMBED, input: 'alpha', encoding_format: 'float' });
      assert.deepEqual(floats.data[0]?.embedding, fakeVector(EMBED, 'alpha'));
      assert.equal(requestsTo('chat', '/api/embed'), 2);
      assert.ok(requestsTo('embedder', '/api/embed') >= 1);
    });

    it('never to a node whose model cannot embed, and harombe names are refused with the models that can', async () => {
      await setup();
      const ollama = new Ollama({ host: h.url });
      await assert.rejects(ollama.embed({ model: 'qwen2.5:7b', input: 'x' }), /does not embed.*nomic-embed-text/);
      await assert.rejects(ollama.embed({ model: 'harombe', input: 'x' }), /embedding model by name.*nomic-embed-text/);
      assert.equal(requestsTo('chat', '/api/embed') + requestsTo('embedder', '/api/embed'), 0, 'no node was asked');
    });

    it('a node that refuses to embed a model is passed over, without a mark on its breaker', async () => {
      h = await startGateway(
        [
          { name: 'chat', tier: 0, model: 'qwen2.5:7b', options: { models: ['qwen2.5:7b', 'mxbai-embed-large'], modelInfo: { 'mxbai-embed-large': { capabilities: ['completion'] } } } },
          { name: 'embedder', tier: 1, model: 'qwen2.5:3b', options: { models: ['qwen2.5:3b', 'mxbai-embed-large'] } },
        ],
        { routing: { load_balance: false }, circuit_breaker: { ...breaker, failure_threshold: 1 } },
      );
      const res = await new Ollama({ host: h.url }).embed({ model: 'mxbai-embed-large', input: ['a'] });
      assert.deepEqual(res.embeddings, [fakeVector('mxbai-embed-large', 'a')]);
      assert.equal(requestsTo('chat', '/api/embed'), 1);
      assert.equal(h.coordinator.nodes().find((n) => n.name === 'chat')?.breaker.state, 'closed');
    });

    it('an OpenAI-compatible node takes over: its /v1/embeddings, vectors put in input order', async () => {
      h = await startGateway(
        [
          { name: 'embedder', tier: 0, model: EMBED },
          { name: 'llamacpp', tier: 1, flavour: 'openai', model: EMBED },
        ],
        { routing: { load_balance: false }, circuit_breaker: breaker },
      );
      await h.cluster.node('embedder').setFault({ type: 'die_before_headers' });
      const inputs = ['one', 'two', 'three'];
      const res = await new Ollama({ host: h.url }).embed({ model: EMBED, input: inputs });
      assert.deepEqual(res.embeddings, inputs.map((t) => fakeVector(EMBED, t)));
      const sent = h.cluster.node('llamacpp').requests.find((r) => r.path === '/v1/embeddings')?.body as Record<string, unknown>;
      assert.deepEqual(sent.input, inputs);
    });

    it('/api/tags and /v1/models list the embedding model next to harombe and the chat models', async () => {
      await setup();
      const tags = await new Ollama({ host: h.url }).list();
      const names = tags.models.map((m) => m.name);
      for (const m of ['harombe', 'qwen2.5:7b', EMBED, 'llama3.1:8b']) assert.ok(names.includes(m), `${m} in /api/tags`);
      const models = await new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 }).models.list();
      assert.ok(models.data.some((m) => m.id === EMBED));
    });

    it('chat never goes to the embedding-only node', async () => {
      await setup();
      const res = await new Ollama({ host: h.url }).chat({ model: 'harombe:tier0', messages: [{ role: 'user', content: 'hi' }], stream: false });
      assert.match(res.message.content, /Hello from qwen2\.5:7b/);
      assert.equal(requestsTo('embedder', '/api/chat'), 0);
    });
  });

  describe('/v1/completions', () => {
    const prompt = 'def fib(n):';
    beforeEach(async () => {
      h = await startGateway(
        [
          { name: 'dying', tier: 2, model: 'qwen2.5-coder:7b', options: { chunkDelayMs: 2 } },
          { name: 'standby', tier: 1, model: 'qwen2.5-coder:7b', options: { chunkDelayMs: 2 } },
        ],
        { routing: { load_balance: false }, circuit_breaker: breaker },
      );
    });
    const openai = () => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    const expected = () => fakeReply(undefined, [{ role: 'user', content: prompt }], 'qwen2.5-coder:7b');

    it('whole: the prompt and suffix reach a node\'s /api/generate, after the first node fails', async () => {
      await h.cluster.node('dying').setFault({ type: 'die_before_headers' });
      const res = await openai().completions.create({ model: 'harombe:tier2', prompt, suffix: '\n    return x', max_tokens: 64, stop: ['\n\n'] });
      assert.equal(res.object, 'text_completion');
      // The fake Ollama's /api/generate quotes the prompt (its suffix is checked in the request below).
      assert.equal(res.choices[0]?.text, expected());
      assert.equal(res.choices[0]?.finish_reason, 'stop');
      const sent = h.cluster.node('standby').requests.find((r) => r.path === '/api/generate')?.body as Record<string, unknown>;
      assert.equal(sent.prompt, prompt);
      assert.equal(sent.suffix, '\n    return x');
      assert.deepEqual(sent.options, { temperature: 0.7, num_predict: 64, stop: ['\n\n'] });
      assert.equal(requestsTo('dying', '/api/generate'), 1);
    });

    it('streamed: one well-formed stream when the first node dies mid-answer', async () => {
      await h.cluster.node('dying').setFault({ type: 'die_mid_stream', afterChunks: 3 });
      let text = '';
      let finishes = 0;
      for await (const chunk of await openai().completions.create({ model: 'harombe:tier2', prompt, stream: true, stream_options: { include_usage: true } })) {
        text += chunk.choices[0]?.text ?? '';
        if (chunk.choices[0]?.finish_reason) finishes++;
      }
      assert.equal(text, expected());
      assert.equal(finishes, 1);
      assert.equal(h.coordinator.metrics.snapshot().fallbacks, 1);
    });

    it('an OpenAI-compatible node answers through its /v1/completions', async () => {
      await h.stop();
      h = await startGateway([{ name: 'llamacpp', tier: 1, flavour: 'openai', model: 'qwen2.5-coder:7b' }], { circuit_breaker: breaker });
      let text = '';
      for await (const chunk of await openai().completions.create({ model: 'qwen2.5-coder:7b', prompt, stream: true })) text += chunk.choices[0]?.text ?? '';
      assert.equal(text, expected());
      const sent = h.cluster.node('llamacpp').requests.find((r) => r.path === '/v1/completions')?.body as Record<string, unknown>;
      assert.equal(sent.prompt, prompt);
      assert.equal(sent.suffix, undefined);
    });

    it('harombe start workers serve it through their Ollama; Harombe 0.3.1 workers (only /api/complete) are passed over', async () => {
      await h.stop();
      h = await startGateway(
        [
          { name: 'python', tier: 2, flavour: 'python', model: 'qwen2.5-coder:7b' },
          { name: 'worker', tier: 1, flavour: 'harombe', model: 'qwen2.5-coder:7b', options: { models: ['qwen2.5-coder:7b', EMBED] } },
        ],
        { routing: { load_balance: false }, circuit_breaker: breaker },
      );
      const res = await openai().completions.create({ model: 'harombe:tier2', prompt });
      assert.equal(res.choices[0]?.text, expected());
      assert.equal(requestsTo('worker', '/api/generate'), 1);
      assert.equal(h.cluster.node('python').requests.filter((r) => r.method === 'POST').length, 0);
      const vectors = await new Ollama({ host: h.url }).embed({ model: EMBED, input: ['w'] });
      assert.deepEqual(vectors.embeddings, [fakeVector(EMBED, 'w')]);
      assert.equal(requestsTo('worker', '/api/embed'), 1);
    });

    it('a model without fill-in-the-middle is passed over for a request with a suffix', async () => {
      await h.stop();
      h = await startGateway(
        [
          { name: 'plain', tier: 2, model: 'qwen2.5:7b' },
          { name: 'coder', tier: 1, model: 'qwen2.5-coder:7b' },
        ],
        { routing: { load_balance: false }, circuit_breaker: breaker },
      );
      const res = await openai().completions.create({ model: 'harombe:tier2', prompt, suffix: 'end' });
      assert.match(res.choices[0]?.text ?? '', /qwen2\.5-coder:7b/);
      assert.equal(requestsTo('plain', '/api/generate'), 0);
    });
  });
});
