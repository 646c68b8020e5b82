import { strict as assert } from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeConfig } from '../../../src/core/config/schema';
import { HealthProber } from '../../../src/core/nodes/healthProber';
import { NodeRegistry } from '../../../src/core/nodes/nodeRegistry';
import { testTokens } from '../../security/testTokens';
import { json, refusedPort, startStub, type StubRoutes, type StubServer } from './stubServer';

const BREAKER = { failure_threshold: 5, timeout: 60, success_threshold: 2, half_open_timeout: 30 };
const TIMEOUTS = { connectTimeoutMs: 1_000, stallTimeoutMs: 30_000 };
const PROBE_TIMEOUT_MS = 300;

/** The exact /health of Harombe 0.3.1's Python worker. */
const PYTHON_WORKER_HEALTH = { status: 'healthy', model: 'qwen2.5:7b', version: '0.3.1' };
/** The /health of our `harombe start` worker. */
const OUR_WORKER_HEALTH = {
  status: 'ok',
  model: 'qwen2.5:14b',
  tier: 1,
  version: '0.1.0',
  node_id: 'node-7f3a',
  in_flight: 1,
  max_parallel: 4,
  models: ['qwen2.5:14b', 'llama3.2:latest'],
  apis: ['ollama', 'openai', 'complete'],
  hardware: { cpu: 'AMD Ryzen 9', cores: 16, ram_gb: 64, gpu: 'RTX 4090', vram_gb: 24 },
};

describe('HealthProber', () => {
  let registry: NodeRegistry;
  let prober: HealthProber;
  const servers: StubServer[] = [];

  const serve = async (routes: StubRoutes | 'hang') => {
    const s = await startStub(routes);
    servers.push(s);
    return s;
  };
  const configure = (...nodes: (Partial<NodeConfig> & { name: string; port: number })[]) =>
    registry.setConfigNodes(
      nodes.map((n) => ({ host: '127.0.0.1', model: 'qwen2.5:7b', tier: 0, kind: 'harombe', max_parallel: 4, enabled: true, ...n })),
      TIMEOUTS,
    );

  beforeEach(() => {
    registry = new NodeRegistry({ breaker: BREAKER });
    prober = new HealthProber(registry, { intervalMs: 60_000, timeoutMs: PROBE_TIMEOUT_MS });
  });
  afterEach(async () => {
    prober.dispose();
    registry.dispose();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe('harombe workers', () => {
    it("takes Harombe 0.3.1's exact {status: healthy} as available, speaking /api/complete", async () => {
      const s = await serve({ '/health': json(200, PYTHON_WORKER_HEALTH) });
      configure({ name: 'py', port: s.port, model: 'qwen2.5:7b' });
      const r = await prober.probe('py');
      assert.equal(r.state, 'available');
      assert.equal(r.reason, undefined);
      assert.equal(r.api, 'complete');
      assert.ok(r.latencyMs !== undefined && Number.isFinite(r.latencyMs) && r.latencyMs >= 0, `latency ${r.latencyMs}`);
      const n = registry.get('py');
      assert.equal(n?.state, 'available');
      assert.equal(n?.version, '0.3.1');
      assert.equal(n?.latencyMs, r.latencyMs);
      assert.ok(n?.lastSeen !== undefined);
      assert.equal(registry.protocol('py'), 'complete');
      assert.deepEqual(
        s.requests.map((q) => `${q.method} ${q.path}`),
        ['GET /health'],
      );
    });

    it('reads our worker\'s full /health: Ollama proxy, load, models, identity, hardware; sends the bearer token', async () => {
      const s = await serve({ '/health': json(200, OUR_WORKER_HEALTH) });
      configure({ name: 'w', port: s.port, model: 'qwen2.5:14b', auth: testTokens.worker });
      const r = await prober.probe('w');
      assert.equal(r.state, 'available');
      assert.equal(r.api, 'ollama');
      const n = registry.get('w');
      assert.equal(registry.protocol('w'), 'ollama');
      assert.equal(n?.reportedLoad, 1);
      assert.equal(n?.nodeId, 'node-7f3a');
      assert.equal(n?.version, '0.1.0');
      assert.deepEqual(n?.models, ['qwen2.5:14b', 'llama3.2:latest']);
      assert.deepEqual(n?.hardware, { cpu: 'AMD Ryzen 9', cores: 16, ramGb: 64, gpu: 'RTX 4090', vramGb: 24 });
      assert.equal(s.requests[0]?.headers.authorization, `Bearer ${testTokens.worker}`);
    });

    it('sends no Authorization header without a token', async () => {
      const s = await serve({ '/health': json(200, PYTHON_WORKER_HEALTH) });
      configure({ name: 'py', port: s.port });
      await prober.probe('py');
      assert.equal(s.requests[0]?.headers.authorization, undefined);
    });

    it('takes a 503 {status: degraded} (worker up, its Ollama down) as degraded with the reason', async () => {
      const s = await serve({ '/health': json(503, { status: 'degraded', model: 'qwen2.5:7b', error: 'ollama: connection refused' }) });
      configure({ name: 'w', port: s.port });
      const r = await prober.probe('w');
      assert.equal(r.state, 'degraded');
      assert.equal(r.reason, 'ollama: connection refused');
      assert.ok(r.latencyMs !== undefined);
      assert.equal(registry.get('w')?.state, 'degraded');
      assert.equal(registry.isEligible('w'), true);
    });

    it('reports a configured model the worker does not list as degraded, naming what it has', async () => {
      const s = await serve({ '/health': json(200, OUR_WORKER_HEALTH) });
      configure({ name: 'w', port: s.port, model: 'qwen2.5:72b' });
      const r = await prober.probe('w');
      assert.equal(r.state, 'degraded');
      assert.equal(r.reason, 'model qwen2.5:72b not found on node (has: qwen2.5:14b, llama3.2:latest)');
      assert.equal(registry.get('w')?.stateReason, r.reason);
    });

    it('treats an untagged model name as :latest when matching', async () => {
      const s = await serve({ '/health': json(200, OUR_WORKER_HEALTH) });
      configure({ name: 'w', port: s.port, model: 'llama3.2' });
      assert.equal((await prober.probe('w')).state, 'available');
    });

    it('takes HTTP 500, a 503 without degraded status, invalid JSON and a status-less body as unavailable', async () => {
      const s500 = await serve({ '/health': json(500, { status: 'ok' }) });
      const s503 = await serve({ '/health': json(503, 'Service Unavailable') });
      const garbage = await serve({ '/health': json(200, '{"status": "ok"') });
      const noStatus = await serve({ '/health': json(200, { model: 'x' }) });
      configure({ name: 'a', port: s500.port }, { name: 'b', port: s503.port }, { name: 'c', port: garbage.port }, { name: 'd', port: noStatus.port });
      const results = await prober.sweep();
      assert.deepEqual(
        results.map((r) => [r.name, r.state, r.reason]),
        [
          ['a', 'unavailable', 'HTTP 500'],
          ['b', 'unavailable', 'HTTP 503'],
          ['c', 'unavailable', 'invalid JSON from /health'],
          ['d', 'unavailable', '/health answered without a status'],
        ],
      );
      assert.equal(registry.isEligible('a'), false);
    });
  });

  describe('ollama servers', () => {
    const ollamaRoutes: StubRoutes = {
      '/api/version': json(200, { version: '0.6.5' }),
      '/api/ps': json(200, { models: [{ name: 'qwen2.5:7b', model: 'qwen2.5:7b', size: 5_000_000_000, expires_at: '2030-01-01T00:00:00Z' }] }),
      '/api/tags': json(200, {
        models: [
          { name: 'qwen2.5:7b', model: 'qwen2.5:7b', size: 4_700_000_000 },
          { name: 'nomic-embed-text:latest', model: 'nomic-embed-text:latest', size: 274_000_000 },
        ],
      }),
    };

    it('asks /api/version, /api/ps, /api/tags and /api/show: version, models present, models loaded, load', async () => {
      const s = await serve(ollamaRoutes);
      configure({ name: 'o', port: s.port, kind: 'ollama', model: 'qwen2.5:7b' });
      const r = await prober.probe('o');
      assert.equal(r.state, 'available');
      const n = registry.get('o');
      assert.equal(n?.version, '0.6.5');
      assert.deepEqual(n?.models, ['qwen2.5:7b', 'nomic-embed-text:latest']);
      assert.deepEqual(n?.loadedModels, ['qwen2.5:7b']);
      assert.equal(n?.reportedLoad, 1);
      assert.deepEqual(s.requests.map((q) => q.path).sort(), ['/api/ps', '/api/show', '/api/tags', '/api/version']);
    });

    it('reports a missing model as degraded', async () => {
      const s = await serve(ollamaRoutes);
      configure({ name: 'o', port: s.port, kind: 'ollama', model: 'qwen2.5:72b' });
      const r = await prober.probe('o');
      assert.equal(r.state, 'degraded');
      assert.equal(r.reason, 'model qwen2.5:72b not found on node (has: qwen2.5:7b, nomic-embed-text:latest)');
    });

    it('is unavailable when /api/version fails, even if the rest answers', async () => {
      const s = await serve({ ...ollamaRoutes, '/api/version': json(500, { error: 'boom' }) });
      configure({ name: 'o', port: s.port, kind: 'ollama' });
      const r = await prober.probe('o');
      assert.equal(r.state, 'unavailable');
      assert.equal(r.reason, 'HTTP 500');
    });
  });

  describe('openai-compatible servers', () => {
    const models = json(200, { object: 'list', data: [{ id: 'qwen2.5:7b', object: 'model', owned_by: 'me' }, { id: 'gpt-oss-20b', object: 'model' }] });
    const withToken: StubRoutes = {
      '/v1/models': (req, res) => (req.headers.authorization === `Bearer ${testTokens.apiKey}` ? models(req, res) : json(401, { error: { message: 'bad key' } })(req, res)),
    };

    it('lists /v1/models with the bearer token', async () => {
      const s = await serve(withToken);
      configure({ name: 'p', port: s.port, kind: 'openai', auth_token: testTokens.apiKey });
      const r = await prober.probe('p');
      assert.equal(r.state, 'available');
      assert.deepEqual(registry.get('p')?.models, ['qwen2.5:7b', 'gpt-oss-20b']);
    });

    it('is unavailable with a rejected token, and degraded without the model', async () => {
      const s = await serve(withToken);
      configure({ name: 'bad', port: s.port, kind: 'openai', auth: testTokens.wrong }, { name: 'nomodel', port: s.port, kind: 'openai', auth: testTokens.apiKey, model: 'llama-3-70b' });
      const [bad, nomodel] = await prober.sweep();
      assert.equal(bad?.state, 'unavailable');
      assert.equal(bad?.reason, 'HTTP 401: token missing or rejected');
      assert.equal(nomodel?.state, 'degraded');
      assert.equal(nomodel?.reason, 'model llama-3-70b not found on node (has: qwen2.5:7b, gpt-oss-20b)');
    });
  });

  it('reports a refused connection as unavailable', async () => {
    configure({ name: 'dead', port: await refusedPort() });
    const r = await prober.probe('dead');
    assert.equal(r.state, 'unavailable');
    assert.equal(r.reason, 'connection refused');
    assert.equal(r.latencyMs, undefined);
    assert.equal(registry.get('dead')?.state, 'unavailable');
    assert.equal(registry.isEligible('dead'), false);
  });

  it('gives up on a hung node after the probe timeout', async () => {
    const s = await serve('hang');
    configure({ name: 'hung', port: s.port });
    const started = performance.now();
    // The stub never answers, so only the prober's own timeout can end this (else mocha's does).
    const r = await prober.probe('hung');
    const elapsed = performance.now() - started;
    assert.equal(r.state, 'unavailable');
    assert.equal(r.reason, `timeout after ${PROBE_TIMEOUT_MS} ms`);
    // Timers never fire early: a shorter wait means something else ended the probe.
    assert.ok(elapsed >= PROBE_TIMEOUT_MS - 20, `gave up after ${Math.round(elapsed)} ms`);
  });

  it('sweeps 20 nodes in parallel: 5 hung nodes cost one probe timeout, not five, and delay no one', async () => {
    const nodes: { name: string; port: number }[] = [];
    const hungServers: StubServer[] = [];
    for (let i = 0; i < 20; i++) {
      const hung = i % 4 === 3;
      const s = await serve(hung ? 'hang' : { '/health': json(200, PYTHON_WORKER_HEALTH) });
      if (hung) hungServers.push(s);
      nodes.push({ name: `${hung ? 'hung' : 'ok'}-${i}`, port: s.port });
    }
    configure(...nodes);
    // When the first hung node is given up on, every hung node must already have been asked:
    // probing them one after another would have asked only the first by then.
    let askedWhenFirstTimedOut = -1;
    const sub = registry.onDidChange((changed) => {
      if (askedWhenFirstTimedOut < 0 && changed.some((n) => n.name.startsWith('hung') && n.state === 'unavailable')) {
        askedWhenFirstTimedOut = hungServers.filter((h) => h.requests.length > 0).length;
      }
    });
    const results = await prober.sweep();
    sub.dispose();
    assert.equal(results.length, 20);
    const hung = results.filter((r) => r.name.startsWith('hung'));
    const ok = results.filter((r) => r.name.startsWith('ok'));
    assert.equal(hung.length, 5);
    assert.ok(hung.every((r) => r.state === 'unavailable' && r.reason === `timeout after ${PROBE_TIMEOUT_MS} ms`));
    assert.ok(ok.every((r) => r.state === 'available'));
    assert.equal(askedWhenFirstTimedOut, 5, 'the hung nodes were probed one after another');
    // A healthy node probed after a hung one would have been timed from the sweep's start.
    assert.ok(
      ok.every((r) => (r.latencyMs ?? Infinity) < PROBE_TIMEOUT_MS),
      'healthy nodes answered without waiting for the hung ones',
    );
  });

  it('probes untrusted (discovered) nodes but keeps them untrusted', async () => {
    const s = await serve({ '/health': json(200, OUR_WORKER_HEALTH) });
    registry.upsertDiscovered({ name: 'found', host: '127.0.0.1', port: s.port, model: 'qwen2.5:14b', tier: 1 });
    const [r] = await prober.sweep();
    assert.equal(r?.state, 'available');
    const n = registry.get('found');
    assert.equal(n?.state, 'untrusted');
    assert.ok(n?.latencyMs !== undefined);
    assert.match(n?.stateReason ?? '', /health: available/);
    assert.equal(n?.maxParallel, 4);
    assert.equal(registry.isEligible('found'), false);
    registry.trust('found');
    assert.equal(registry.get('found')?.state, 'available');
  });

  it('joins a probe already running for the same node', async () => {
    const s = await serve({ '/health': json(200, PYTHON_WORKER_HEALTH) });
    configure({ name: 'a', port: s.port });
    const [r1, r2] = await Promise.all([prober.probe('a'), prober.probe('a')]);
    assert.equal(r1, r2);
    assert.equal(s.requests.length, 1);
  });

  it('dispose aborts probes in flight and does not record them', async () => {
    const s = await serve('hang');
    configure({ name: 'hung', port: s.port });
    // A 60 s probe timeout: only the dispose can end this probe within the test's timeout.
    const slowProber = new HealthProber(registry, { intervalMs: 60_000, timeoutMs: 60_000 });
    const pending = slowProber.probe('hung');
    await until(() => s.requests.length === 1);
    slowProber.dispose();
    const r = await pending;
    assert.equal(r.reason, 'probe cancelled');
    assert.equal(registry.get('hung')?.state, 'available', 'a cancelled probe says nothing about the node');
  });

  it('start() sweeps at once and then on the interval, until disposed', async () => {
    const s = await serve({ '/health': json(200, PYTHON_WORKER_HEALTH) });
    configure({ name: 'a', port: s.port });
    const intervalMs = 150;
    const ticking = new HealthProber(registry, { intervalMs, timeoutMs: PROBE_TIMEOUT_MS });
    // With a one-minute interval, a first sweep that waited for the interval would not come
    // within until()'s 2 s: only a sweep at start() can.
    const lazy = new HealthProber(registry, { intervalMs: 60_000, timeoutMs: PROBE_TIMEOUT_MS });
    lazy.start();
    await until(() => s.requests.length >= 1);
    lazy.dispose();
    const before = s.requests.length;
    ticking.start();
    await until(() => s.requests.length >= before + 3);
    ticking.dispose();
        const count = s.requests.length;
    // Two whole intervals: had a timer survived dispose, it would have fired in them.
    await sleep(2 * intervalMs);
    assert.equal(s.requests.length, count, 'no sweep after dispose');
  });
});

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}
