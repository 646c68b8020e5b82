import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';
import { startGateway, type GatewayHarness } from './gatewayHarness';

const prompt = 'tell me about failover';
const answerOf = (model: string) => fakeReply(undefined, [{ role: 'user', content: prompt }], model);

describe('gateway: failover while streaming', function () {
  this.timeout(20_000);
  let h: GatewayHarness;

  afterEach(async () => {
    await h?.stop();
  });

  // The dying node is the only tier 2 node; the standby (tier 1) takes over through the fallback order.
  async function setup(standbyModel: string) {
    h = await startGateway(
      [
        { name: 'dying', tier: 2, model: 'qwen2.5:32b', options: { chunkDelayMs: 2 } },
        { name: 'standby', tier: 1, model: standbyModel, options: { chunkDelayMs: 2 } },
      ],
      { routing: { load_balance: false }, circuit_breaker: { failure_threshold: 1000, timeout: 0.3, half_open_timeout: 2 } },
    );
    await h.cluster.node('dying').setFault({ type: 'die_mid_stream', afterChunks: 4 });
  }

  it('Ollama stream: a node dying mid-answer is replaced and the client gets one complete, well-formed stream', async () => {
    await setup('qwen2.5:32b');
    const res = await fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }] }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-harombe-node'), 'dying', 'headers went out with the first token, from the first node');
    const lines = (await res.text()).split('\n');
    assert.equal(lines.pop(), '', 'the stream ends with a newline');
    const records = lines.map((l) => JSON.parse(l) as { message: { content: string }; done: boolean; error?: string });
    assert.ok(records.every((r) => r.error === undefined));
    assert.deepEqual(records.map((r) => r.done), [...records.slice(0, -1).map(() => false), true], 'exactly one done record, last');
    assert.equal(records.map((r) => r.message.content).join(''), answerOf('qwen2.5:32b'), 'no token missing, none repeated');
    assert.equal(h.cluster.node('dying').requests.filter((r) => r.path === '/api/chat').length, 1);
    assert.equal(h.cluster.node('standby').requests.filter((r) => r.path === '/api/chat').length, 1);
    assert.equal(h.coordinator.metrics.snapshot().fallbacks, 1);
  });

  it('the same through the official ollama and openai clients', async () => {
    await setup('qwen2.5:32b');
    const ollama = new Ollama({ host: h.url });
    let text = '';
    let dones = 0;
    for await (const part of await ollama.chat({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }], stream: true })) {
      text += part.message.content;
      if (part.done) dones++;
    }
    assert.equal(text, answerOf('qwen2.5:32b'));
    assert.equal(dones, 1);

    const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    text = '';
    let finishes = 0;
    for await (const chunk of await openai.chat.completions.create({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }], stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes++;
    }
    assert.equal(text, answerOf('qwen2.5:32b'));
    assert.equal(finishes, 1);
    assert.equal(h.coordinator.metrics.snapshot().fallbacks, 2, 'both answers went through a mid-stream failover');
  });

  it('whole answers drop the dead node\'s partial answer', async () => {
    await setup('qwen2.5:7b');
    const ollama = new Ollama({ host: h.url });
    const res = await ollama.chat({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }], stream: false });
    assert.equal(res.message.content, answerOf('qwen2.5:7b'));
  });

  it('when the new node says something else, the stream ends with an in-band error instead of a mixed answer', async () => {
    await setup('qwen2.5:7b');
    const res = await fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }] }) });
    const records = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { message?: { content: string }; done?: boolean; error?: string });
    const last = records.pop();
    assert.match(last?.error ?? '', /differs from what was already streamed/);
    assert.ok(records.every((r) => r.done === false), 'no done record before the error');
    const shown = records.map((r) => r.message?.content ?? '').join('');
    assert.ok(shown.length > 0 && answerOf('qwen2.5:32b').startsWith(shown), 'what was shown is the first node\'s text only');

    const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    await h.cluster.node('dying').setFault({ type: 'die_mid_stream', afterChunks: 4 });
    await assert.rejects(async () => {
      for await (const _ of await openai.chat.completions.create({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }], stream: true })) void _;
    }, /differs from what was already streamed/);
    assert.equal(h.coordinator.metrics.snapshot().fallbacks, 2);
  });

  it('a node refusing before the answer is invisible to the client, and the headers name the node that answered', async () => {
    await setup('qwen2.5:32b');
    await h.cluster.node('dying').setFault({ type: 'die_before_headers' });
    const res = await fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }] }) });
    assert.equal(res.headers.get('x-harombe-node'), 'standby');
    assert.equal(res.headers.get('x-harombe-tier'), '1');
    assert.match(res.headers.get('x-harombe-reason') ?? '', /fallback from dying/);
    const records = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { message: { content: string } });
    assert.equal(records.map((r) => r.message.content).join(''), answerOf('qwen2.5:32b'));
  });

  it('a client that disconnects mid-stream cancels the request on the node', async () => {
    h = await startGateway([{ name: 'slow', tier: 0, options: { chunkDelayMs: 50 } }]);
    const controller = new AbortController();
    const res = await fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe:tier0', messages: [{ role: 'user', content: prompt }] }), signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    const deadline = Date.now() + 3000;
    while (!h.cluster.node('slow').requests.some((r) => r.path === '/api/chat' && r.aborted) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(h.cluster.node('slow').requests.some((r) => r.path === '/api/chat' && r.aborted), 'the node saw the request cancelled');
  });
});
