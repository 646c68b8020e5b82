import { strict as assert } from 'node:assert';
import { Agent } from 'undici';
import { CompleteClient } from '../../../src/core/inference/completeClient';
import { OllamaClient } from '../../../src/core/inference/ollamaClient';
import { OllamaWireClient } from '../../../src/core/inference/ollamaWireClient';
import { OpenAIClient } from '../../../src/core/inference/openaiClient';
import { OpenAIWireClient } from '../../../src/core/inference/openaiWireClient';
import type { ChatRequest, InferenceClient } from '../../../src/core/inference/types';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakeOpenAI } from '../../fakes/fakeOpenAI';
import type { FakeServer } from '../../fakes/fakeServer';
import { ANSWER, REASONING, reasoning } from '../../fakes/reasoningSample';
import { collect, endpointFor } from './clientHarness';

const MODEL = 'qwen3:8b';
const messages = [{ role: 'user' as const, content: 'Make total() shorter' }];
const plain: ChatRequest = { model: MODEL, messages };

type Case = {
  name: string;
  start: (where: 'content' | 'field') => Promise<FakeServer>;
  client: (url: string, agent: Agent) => InferenceClient;
  request: ChatRequest;
  /** Where a server that reasons apart puts it (for the byte checks). */
  field?: string;
};

const ollama = (where: 'content' | 'field') => FakeOllama.start({ models: [MODEL], reply: ANSWER, reasoning: reasoning(where), worker: { model: MODEL, tier: 2 } });
const openai = (where: 'content' | 'field') => FakeOpenAI.start({ models: [MODEL], reply: ANSWER, reasoning: reasoning(where) });

const cases: Case[] = [
  { name: 'OllamaClient (/api/chat)', start: ollama, client: (u, a) => new OllamaClient(endpointFor(u), a), request: plain, field: '"thinking"' },
  { name: 'OpenAIClient (vLLM / llama.cpp)', start: openai, client: (u, a) => new OpenAIClient(endpointFor(u), a), request: plain, field: '"reasoning_content"' },
  { name: "OpenAIClient (Ollama's /v1)", start: ollama, client: (u, a) => new OpenAIClient(endpointFor(u), a), request: plain, field: '"reasoning"' },
  {
    name: 'OllamaWireClient (/api/chat relayed)',
    start: ollama,
    client: (u, a) => new OllamaWireClient(endpointFor(u), a),
    request: { ...plain, wire: { protocol: 'ollama', path: '/api/chat', body: { model: 'x', messages } } },
    field: '"thinking"',
  },
  {
    name: 'OllamaWireClient (/api/generate relayed)',
    start: ollama,
    client: (u, a) => new OllamaWireClient(endpointFor(u), a),
    request: { ...plain, wire: { protocol: 'ollama', path: '/api/generate', body: { model: 'x', prompt: messages[0]?.content } } },
    field: '"thinking"',
  },
  {
    name: 'OpenAIWireClient (relayed)',
    start: openai,
    client: (u, a) => new OpenAIWireClient(endpointFor(u), a),
    request: { ...plain, wire: { protocol: 'openai', path: '/v1/chat/completions', body: { model: 'x', messages } } },
    field: '"reasoning_content"',
  },
];

describe('Reasoning in every form servers send it: never in the answer text', function () {
  this.timeout(20_000);
  let agent: Agent;
  let server: FakeServer | undefined;

  beforeEach(() => {
    agent = new Agent();
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await agent.destroy();
  });

  for (const c of cases) {
    for (const where of ['content', 'field'] as const) {
      it(`${c.name}: reasoning ${where === 'content' ? 'in <think> tags at the start of the content, cut across records' : 'in its own field'}`, async () => {
        server = await c.start(where);
        const got = await collect(c.client(server.url, agent).chat(c.request));
        assert.equal(got.text, ANSWER);
        // A server that puts the tags in the content sends the newlines around the reasoning; they are the model's.
        assert.equal(got.thinking, where === 'content' ? `\n${REASONING}\n` : REASONING);
        assert.ok(got.done);
        const chunkTypes = got.chunks.map((k) => k.type);
        if (!c.request.wire) {
          // Reasoning streams in pieces, all before the answer's first piece.
          const firstDelta = chunkTypes.indexOf('delta');
          assert.ok(chunkTypes.filter((t) => t === 'thinking').length > 3);
          assert.ok(chunkTypes.lastIndexOf('thinking') < firstDelta);
        } else {
          // Relayed: the node's own bytes, reasoning in the node's own form.
          const bytes = Buffer.concat(got.wire).toString('utf8');
          assert.ok(where === 'content' ? bytes.includes('<th') : bytes.includes(c.field as string), bytes.slice(0, 300));
        }
      });
    }
  }

  it("CompleteClient (Harombe 0.3.1's /api/complete): a <think> block in the one JSON answer", async () => {
    server = await ollama('content');
    const got = await collect(new CompleteClient(endpointFor(server.url), agent).chat(plain));
    assert.equal(got.text, ANSWER);
    assert.equal(got.thinking, `\n${REASONING}\n`);
  });

  it("OllamaClient sends think when asked, leaves it out for the model's default, and reads no reasoning with think: false", async () => {
    const fake = await ollama('field');
    server = fake;
    const client = new OllamaClient(endpointFor(fake.url), agent);
    const off = await collect(client.chat({ ...plain, think: false }));
    assert.equal(off.thinking, '');
    assert.equal(off.text, ANSWER);
    await collect(client.chat({ ...plain, think: true }));
    await collect(client.chat(plain));
    assert.deepEqual(
      fake.requests.filter((r) => r.path === '/api/chat').map((r) => (r.body as { think?: unknown }).think),
      [false, true, undefined],
    );
  });

  it('OllamaClient asks again without think when the model cannot reason (Ollama answers think: true with 400)', async () => {
    const fake = await FakeOllama.start({ models: ['qwen2.5:7b'], reply: 'plain' });
    server = fake;
    const got = await collect(new OllamaClient(endpointFor(fake.url), agent).chat({ model: 'qwen2.5:7b', messages, think: true }));
    assert.equal(got.text, 'plain');
    assert.deepEqual(
      fake.requests.map((r) => (r.body as { think?: unknown }).think),
      [true, undefined],
    );
  });
});
