import { strict as assert } from 'node:assert';
import { fakeReply } from '../../fakes/fakeReply';
import { startGateway, type GatewayHarness } from './gatewayHarness';

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('gateway: Harombe API, probes, metrics and errors', function () {
  this.timeout(20_000);
  let h: GatewayHarness;
  beforeEach(async () => {
    h = await startGateway([
      { name: 'laptop', tier: 0 },
      { name: 'server', tier: 2 },
    ]);
  });
  afterEach(async () => {
    await h?.stop();
  });

  it('POST /cluster/execute answers with the text, the node, the tier and why', async () => {
    const res = await post(`${h.url}/cluster/execute`, { query: 'explain this', context: 'const x = 1;', prefer_tier: 2, timeout: 10 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { response: string; node: string; tier: number; model: string; reasons: string[]; fallbacks: number; duration_ms: number };
    assert.equal(body.node, 'server');
    assert.equal(body.tier, 2);
    assert.equal(body.model, 'qwen2.5:72b');
    assert.equal(body.response, fakeReply(undefined, [{ role: 'user', content: 'explain this\n\nContext:\nconst x = 1;' }], 'qwen2.5:72b'));
    assert.ok(body.reasons.length > 0);
    assert.equal(body.fallbacks, 0);
    assert.equal(res.headers.get('x-harombe-node'), 'server');

    // Without prefer_tier the classifier picks: a greeting is tier 0, so the tier 2 node must not answer it.
    const auto = (await (await post(`${h.url}/cluster/execute`, { query: 'hi' })).json()) as { node: string; tier: number };
    assert.deepEqual([auto.node, auto.tier], ['laptop', 0]);
  });

  it('POST /cluster/execute validates its body and times out with 504', async () => {
    const missing = await post(`${h.url}/cluster/execute`, { context: 'x' });
    assert.equal(missing.status, 400);
    assert.match(((await missing.json()) as { error: string }).error, /"query" must be a non-empty string/);
    const badTier = await post(`${h.url}/cluster/execute`, { query: 'x', prefer_tier: 7 });
    assert.equal(badTier.status, 400);
    assert.match(((await badTier.json()) as { error: string }).error, /prefer_tier/);
    await h.cluster.node('server').setFault({ type: 'trickle', intervalMs: 100 });
    const slow = await post(`${h.url}/cluster/execute`, { query: 'x', prefer_tier: 2, timeout: 0.3 });
    assert.equal(slow.status, 504);
  });

  it('GET /cluster/status lists nodes with name, available and load', async () => {
    const body = (await (await fetch(`${h.url}/cluster/status`)).json()) as { nodes: { name: string; available: boolean; load: number; tier: number; model: string }[]; available: number; total: number };
    assert.deepEqual(body.nodes.map((n) => [n.name, n.available, n.load, n.tier]), [['laptop', true, 0, 0], ['server', true, 0, 2]]);
    assert.equal(body.available, 2);
    assert.equal(body.total, 2);
  });

  it('GET /health, /ready and /metrics', async () => {
    assert.deepEqual(await (await fetch(`${h.url}/health`)).json(), { status: 'ok', nodes_available: 2, nodes_total: 2 });
    assert.equal((await fetch(`${h.url}/ready`)).status, 200);
    await post(`${h.url}/api/chat`, { model: 'harombe:tier0', messages: [{ role: 'user', content: 'x' }], stream: false }).then((r) => r.text());
    const metrics = await fetch(`${h.url}/metrics`);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    assert.match(text, /# TYPE harombe_requests_total counter/);
    assert.match(text, /harombe_node_requests_total\{node="laptop"\} 1/);

    await h.cluster.node('laptop').setFault({ type: 'refuse' });
    await h.cluster.node('server').setFault({ type: 'refuse' });
    await h.coordinator.prober.sweep();
    assert.equal((await fetch(`${h.url}/ready`)).status, 503);
    const none = await post(`${h.url}/api/chat`, { model: 'harombe', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(none.status, 503);
    assert.match(((await none.json()) as { error: string }).error, /No node is available/);
  });

  it('answers unknown routes with 404, wrong methods with 405, bad bodies with 400, all JSON', async () => {
    const unknown = await fetch(`${h.url}/api/nope`);
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: string }).error, /No route GET \/api\/nope\. Routes: .*POST \/api\/chat/);
    const unknownV1 = await fetch(`${h.url}/v1/audio/speech`, { method: 'POST' });
    assert.equal(unknownV1.status, 404);
    assert.equal(((await unknownV1.json()) as { error: { code: string } }).error.code, 'not_found');
    const method = await fetch(`${h.url}/api/chat`);
    assert.equal(method.status, 405);
    assert.equal(method.headers.get('allow'), 'POST');
    const cases: [string, unknown, RegExp][] = [
      ['/api/chat', '{not json', /not valid JSON/],
      ['/api/chat', '', /empty/],
      ['/api/chat', '[1,2]', /must be a JSON object/],
      ['/api/chat', { messages: [{ role: 'user', content: 'x' }] }, /"model" is required/],
      ['/api/chat', { model: 'harombe', messages: [{ role: 'wizard', content: 'x' }] }, /messages\[0\]\.role must be one of/],
      ['/api/chat', { model: 'harombe', messages: [{ role: 'user', content: 'x' }], options: { temperature: 'hot' } }, /temperature/],
      ['/api/generate', { model: 'harombe' }, /"prompt" must be a string/],
      ['/api/show', {}, /"model" is required/],
      ['/api/embed', { model: 'harombe', input: [1, 2] }, /"input" must be a string or a list of strings/],
      ['/api/embed', { model: 'harombe', input: 'x', dimensions: -3 }, /"dimensions" must be a whole number/],
      ['/api/embed', { model: 'harombe', input: 'x' }, /embeddings need the embedding model by name/],
      ['/api/embeddings', { model: 'harombe', prompt: 7 }, /"prompt" must be a string/],
      ['/v1/embeddings', { model: 'harombe', input: 'x', encoding_format: 'hex' }, /"encoding_format" must be/],
      ['/v1/completions', { model: 'harombe', prompt: 'x', max_tokens: 'many' }, /"max_tokens" must be a whole number/],
      ['/v1/completions', { model: 'harombe', prompt: ['a', 'b'] }, /one prompt per request/],
      ['/v1/completions', { model: 'harombe', prompt: 'x', suffix: 3 }, /"suffix" must be a string/],
      ['/v1/chat/completions', { model: 'harombe', messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, /arguments is not valid JSON/],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(`${h.url}${path}`, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      const json = (await res.json()) as { error: string | { message: string } };
      assert.match(typeof json.error === 'string' ? json.error : json.error.message, message);
    }
  });
});
