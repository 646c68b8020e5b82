import { strict as assert } from 'node:assert';
import { parseModelRoute } from '../../../src/core/gateway/modelRoute';
import { fakeReply } from '../../fakes/fakeReply';
import { startGateway, type GatewayHarness } from './gatewayHarness';

const chat = (url: string, model: string, content = 'hi') =>
  fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model, messages: [{ role: 'user', content }], stream: false }) });

describe('gateway: model names select routing', function () {
  this.timeout(20_000);
  let h: GatewayHarness;
  afterEach(async () => {
    await h?.stop();
  });

  it('parses harombe, harombe:auto, harombe:latest, harombe:tierN and real names', () => {
    assert.deepEqual(parseModelRoute('harombe'), { kind: 'auto' });
    assert.deepEqual(parseModelRoute('harombe:auto'), { kind: 'auto' });
    assert.deepEqual(parseModelRoute('harombe:latest'), { kind: 'auto' });
    assert.deepEqual(parseModelRoute('harombe:tier0'), { kind: 'tier', tier: 0 });
    assert.deepEqual(parseModelRoute('harombe:tier2'), { kind: 'tier', tier: 2 });
    assert.deepEqual(parseModelRoute('harombe:tier3'), { kind: 'model', model: 'harombe:tier3' });
    assert.deepEqual(parseModelRoute('llama3.1:8b'), { kind: 'model', model: 'llama3.1:8b' });
  });

  it('a real model name fails over only among the nodes that serve it', async () => {
    h = await startGateway(
      [
        { name: 'a', tier: 0, model: 'llama3.1:8b' },
        { name: 'other', tier: 1, model: 'qwen2.5:14b' },
        { name: 'b', tier: 2, model: 'llama3.1:8b' },
      ],
      { routing: { load_balance: false } },
    );
    await h.cluster.node('a').setFault({ type: 'refuse' });
    const res = await chat(h.url, 'llama3.1:8b');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-harombe-node'), 'b');
    assert.equal(((await res.json()) as { message: { content: string } }).message.content, fakeReply(undefined, [{ role: 'user', content: 'hi' }], 'llama3.1:8b'));
    assert.equal(h.cluster.node('other').requests.filter((r) => r.path === '/api/chat').length, 0);

    await h.cluster.node('b').setFault({ type: 'refuse' });
    const none = await chat(h.url, 'llama3.1:8b');
    assert.equal(none.status, 503, 'no other model is substituted');
    assert.equal(h.cluster.node('other').requests.filter((r) => r.path === '/api/chat').length, 0);
  });

  it('a model a node lists (not its configured one) is asked for by that name; name:latest matches name', async () => {
    h = await startGateway([
      { name: 'multi', tier: 1, model: 'qwen2.5:14b', options: { models: ['qwen2.5:14b', 'mistral:latest'] } },
      { name: 'small', tier: 0 },
    ]);
    for (const asked of ['mistral:latest', 'mistral']) {
      const res = await chat(h.url, asked);
      assert.equal(res.status, 200, asked);
      assert.equal(res.headers.get('x-harombe-node'), 'multi');
      const body = (await res.json()) as { model: string; message: { content: string } };
      assert.equal(body.model, asked, 'the answer names the model the client asked for');
      assert.match(body.message.content, /^Hello from mistral:latest/);
    }
    const sent = h.cluster.node('multi').requests.filter((r) => r.path === '/api/chat').map((r) => (r.body as { model: string }).model);
    assert.deepEqual(sent, ['mistral:latest', 'mistral:latest']);
  });

  it('forced tiers by model name, with X-Harombe-Tier', async () => {
    h = await startGateway([
      { name: 'laptop', tier: 0 },
      { name: 'workstation', tier: 1 },
      { name: 'server', tier: 2 },
    ]);
    for (const [model, node, tier] of [['harombe:tier0', 'laptop', '0'], ['harombe:tier1', 'workstation', '1'], ['harombe:tier2', 'server', '2']]) {
      const res = await chat(h.url, model as string, 'Refactor this module into smaller classes');
      assert.equal(res.headers.get('x-harombe-node'), node);
      assert.equal(res.headers.get('x-harombe-tier'), tier);
      await res.text();
    }
  });
});
