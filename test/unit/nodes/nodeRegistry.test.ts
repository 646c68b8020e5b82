import { strict as assert } from 'node:assert';
import { setImmediate as nextTick } from 'node:timers/promises';
import { request } from 'undici';
import type { NodeConfig } from '../../../src/core/config/schema';
import { NodeError } from '../../../src/core/inference/nodeError';
import type { NodeInfo } from '../../../src/core/nodes/nodeInfo';
import { NodeRegistry } from '../../../src/core/nodes/nodeRegistry';
import type { ProbeResult } from '../../../src/core/nodes/probeResult';
import { testTokens } from '../../security/testTokens';
import { startStub, json } from './stubServer';

const BREAKER = { failure_threshold: 2, timeout: 60, success_threshold: 2, half_open_timeout: 30 };
const TIMEOUTS = { connectTimeoutMs: 1_000, stallTimeoutMs: 30_000 };

function node(overrides: Partial<NodeConfig> & { name: string }): NodeConfig {
  return { host: '10.0.0.1', port: 8000, model: 'qwen2.5:7b', tier: 0, kind: 'harombe', max_parallel: 4, enabled: true, ...overrides };
}

function probe(registry: NodeRegistry, name: string, result: Partial<ProbeResult>): boolean {
  const n = registry.get(name);
  assert.ok(n, `node ${name} exists`);
  return registry.applyProbe(name, {
    name,
    kind: n.kind,
    baseUrl: registry.endpoint(name).baseUrl,
    state: 'available',
    at: 1_000,
    ...result,
  });
}

describe('NodeRegistry', () => {
  let registry: NodeRegistry;
  let now: number;

  beforeEach(() => {
    now = 5_000;
    registry = new NodeRegistry({ breaker: BREAKER, clock: { now: () => now } });
  });
  afterEach(() => registry.dispose());

  it('registers enabled config nodes only, with their token (auth, else auth_token), endpoint and timeouts', () => {
    registry.setConfigNodes(
      [
        node({ name: 'laptop', host: 'localhost', auth: testTokens.node, auth_token: testTokens.wrong }),
        node({ name: 'server', host: '192.168.1.200', tier: 2, auth_token: testTokens.config }),
        node({ name: 'v6', host: 'fe80::1', port: 11434, kind: 'ollama' }),
        node({ name: 'off', enabled: false }),
      ],
      TIMEOUTS,
    );
    assert.deepEqual(
      registry.list().map((n) => n.name),
      ['laptop', 'server', 'v6'],
    );
    assert.equal(registry.get('off'), undefined);
    assert.deepEqual(registry.endpoint('laptop'), { baseUrl: 'http://localhost:8000', token: testTokens.node, ...TIMEOUTS });
    assert.equal(registry.endpoint('server').token, testTokens.config);
    assert.equal(registry.endpoint('v6').baseUrl, 'http://[fe80::1]:11434');
    assert.equal(registry.endpoint('v6').token, undefined);
    const laptop = registry.get('laptop') as NodeInfo;
    assert.equal(laptop.source, 'config');
    assert.equal(laptop.state, 'available', 'optimistic until the first probe');
    assert.deepEqual(laptop.breaker, { state: 'closed' });
    assert.equal(laptop.inFlight, 0);
    assert.throws(() => registry.endpoint('nope'), /Unknown node nope/);
  });

  it('reconciles: unchanged nodes keep state, latency, breaker and pool; changed address or token starts over; gone nodes leave', () => {
    registry.setConfigNodes([node({ name: 'a' }), node({ name: 'b', host: '10.0.0.2' }), node({ name: 'c', host: '10.0.0.3', auth: testTokens.node })], TIMEOUTS);
    for (const n of ['a', 'b', 'c']) probe(registry, n, { latencyMs: 40, state: 'degraded', reason: 'slow', models: ['m'] });
    const breakerA = registry.breaker('a');
    const poolA = registry.dispatcher('a');
    const breakerB = registry.breaker('b');
    const breakerC = registry.breaker('c');
    const releaseA = registry.acquire('a');

    registry.setConfigNodes(
      [
        node({ name: 'a', model: 'qwen2.5:14b', tier: 1, max_parallel: 8 }), // same identity, other model/tier
        node({ name: 'b', host: '10.0.0.22' }), // moved
        node({ name: 'c', host: '10.0.0.3', auth: testTokens.rotated }), // new token
        node({ name: 'd', host: '10.0.0.4' }), // new
      ],
      TIMEOUTS,
    );

    const a = registry.get('a') as NodeInfo;
    assert.equal(registry.breaker('a'), breakerA);
    assert.equal(registry.dispatcher('a'), poolA);
    assert.equal(a.state, 'degraded');
    assert.equal(a.latencyMs, 40);
    assert.equal(a.inFlight, 1);
    assert.deepEqual([a.model, a.tier, a.maxParallel], ['qwen2.5:14b', 1, 8]);
    releaseA();

    const b = registry.get('b') as NodeInfo;
    assert.notEqual(registry.breaker('b'), breakerB);
    assert.equal(b.state, 'available');
    assert.equal(b.latencyMs, undefined);
    assert.deepEqual(b.models, []);
    assert.notEqual(registry.breaker('c'), breakerC);
    assert.equal(registry.endpoint('c').token, testTokens.rotated);

    // The replaced breakers are disposed: they refuse work.
    assert.equal(breakerB.canAttempt(), false);

    registry.setConfigNodes([node({ name: 'a', model: 'qwen2.5:14b', tier: 1, max_parallel: 8 })], TIMEOUTS);
    assert.deepEqual(
      registry.list().map((n) => n.name),
      ['a'],
    );
    assert.equal(registry.get('b'), undefined);
    assert.equal(registry.breaker('a'), breakerA);
  });

  it('closes the connection pool of a removed node', async () => {
    const stub = await startStub({ '/health': json(200, { status: 'ok' }) });
    try {
      registry.setConfigNodes([node({ name: 'a', host: '127.0.0.1', port: stub.port })], TIMEOUTS);
      const pool = registry.dispatcher('a');
      const res = await request(`${stub.url}/health`, { dispatcher: pool });
      await res.body.dump();
      registry.setConfigNodes([], TIMEOUTS);
      await assert.rejects(request(`${stub.url}/health`, { dispatcher: pool }), /closed|destroyed/i);
    } finally {
      await stub.close();
    }
  });

  it('rebuilds pools when the connect timeout changes, keeping the node', () => {
    registry.setConfigNodes([node({ name: 'a' })], TIMEOUTS);
    const pool = registry.dispatcher('a');
    const breaker = registry.breaker('a');
    registry.setConfigNodes([node({ name: 'a' })], { ...TIMEOUTS, connectTimeoutMs: 2_000 });
    assert.notEqual(registry.dispatcher('a'), pool);
    assert.equal(registry.breaker('a'), breaker);
    assert.equal(registry.endpoint('a').connectTimeoutMs, 2_000);
  });

  it('tells the protocol of each kind; a harombe worker is Harombe 0.3.1 (complete) until /health lists the Ollama API', () => {
    registry.setConfigNodes(
      [node({ name: 'o', kind: 'ollama' }), node({ name: 'p', kind: 'openai' }), node({ name: 'h', kind: 'harombe' }), node({ name: 'h2', kind: 'harombe' })],
      TIMEOUTS,
    );
    assert.equal(registry.protocol('o'), 'ollama');
    assert.equal(registry.protocol('p'), 'openai');
    assert.equal(registry.protocol('h'), 'complete');
    probe(registry, 'h', { api: 'ollama' });
    probe(registry, 'h2', { api: 'complete' });
    assert.equal(registry.protocol('h'), 'ollama');
    assert.equal(registry.protocol('h2'), 'complete');
  });

  it('folds probes in: EWMA latency (alpha 0.3), state, models, load, identity; ignores probes of an old address', () => {
    registry.setConfigNodes([node({ name: 'a' })], TIMEOUTS);
    probe(registry, 'a', { latencyMs: 100, models: ['x'], loadedModels: ['x'], reportedLoad: 1, version: '0.1.0', nodeId: 'n1', hardware: { cores: 8 }, at: 111 });
    probe(registry, 'a', { latencyMs: 200, at: 222 });
    let a = registry.get('a') as NodeInfo;
    assert.ok(Math.abs((a.latencyMs ?? 0) - 130) < 1e-9, `latency ${a.latencyMs}`);
    assert.deepEqual([a.models, a.loadedModels, a.reportedLoad, a.version, a.nodeId, a.hardware, a.lastSeen], [['x'], ['x'], 1, '0.1.0', 'n1', { cores: 8 }, 222]);

    probe(registry, 'a', { state: 'unavailable', reason: 'connection refused', at: 333 });
    a = registry.get('a') as NodeInfo;
    assert.equal(a.state, 'unavailable');
    assert.equal(a.stateReason, 'connection refused');
    assert.equal(a.lastSeen, 222, 'a failed probe is not a sighting');
    assert.deepEqual(a.loadedModels, []);
    assert.deepEqual(a.models, ['x'], 'models on disk are remembered');

    const stale = registry.applyProbe('a', { name: 'a', kind: 'harombe', baseUrl: 'http://10.9.9.9:8000', state: 'available', at: 444 });
    assert.equal(stale, false);
    assert.equal(registry.get('a')?.state, 'unavailable');
    assert.equal(registry.applyProbe('ghost', { name: 'ghost', kind: 'harombe', baseUrl: 'http://x:1', state: 'available', at: 1 }), false);
  });

  it('is eligible only when up (available or degraded), trusted, and its breaker lets a request through', async () => {
    registry.setConfigNodes([node({ name: 'a' }), node({ name: 'b' }), node({ name: 'c' }), node({ name: 'd' })], TIMEOUTS);
    probe(registry, 'b', { state: 'degraded', reason: 'model missing' });
    probe(registry, 'c', { state: 'unavailable', reason: 'connection refused' });
    for (let i = 0; i < BREAKER.failure_threshold; i++) {
      await assert.rejects(
        registry.breaker('d').execute(async () => {
          throw new NodeError('refused', 'refused');
        }),
      );
    }
    assert.deepEqual(
      ['a', 'b', 'c', 'd', 'unknown'].map((n) => registry.isEligible(n)),
      [true, true, false, false, false],
    );
    assert.equal(registry.get('d')?.breaker.state, 'open');
    assert.ok(registry.get('d')?.breaker.retryAt !== undefined);
  });

  it('counts requests in flight; release is idempotent', () => {
    registry.setConfigNodes([node({ name: 'a' })], TIMEOUTS);
    const r1 = registry.acquire('a');
    const r2 = registry.acquire('a');
    assert.equal(registry.get('a')?.inFlight, 2);
    r1();
    r1();
    assert.equal(registry.get('a')?.inFlight, 1);
    r2();
    assert.equal(registry.get('a')?.inFlight, 0);
    const noop = registry.acquire('unknown');
    noop();
  });

  it('records request failures as the reason and successes as a sighting', () => {
    registry.setConfigNodes([node({ name: 'a' })], TIMEOUTS);
    probe(registry, 'a', { state: 'unavailable', reason: 'timeout after 2000 ms' });
    registry.recordFailure('a', new NodeError('stall', 'no byte for 120 s'));
    assert.equal(registry.get('a')?.stateReason, 'no byte for 120 s');
    now = 9_000;
    registry.recordSuccess('a');
    const a = registry.get('a') as NodeInfo;
    assert.equal(a.lastSeen, 9_000);
    assert.equal(a.state, 'available', 'an answer proves the node is up');
    assert.equal(a.stateReason, undefined);
  });

  it('keeps discovered nodes untrusted (probed, never eligible) until trusted; config wins on name or address', () => {
    registry.setConfigNodes([node({ name: 'laptop', host: '10.0.0.1', port: 8000 })], TIMEOUTS);
    const found = registry.upsertDiscovered({ name: 'gpu', host: '10.0.0.5', port: 8000, model: 'qwen2.5:72b', tier: 2, nodeId: 'id-1', version: '0.1.0' });
    assert.equal(found?.state, 'untrusted');
    assert.equal(found?.source, 'mdns');
    assert.equal(registry.isEligible('gpu'), false);
    probe(registry, 'gpu', { state: 'available', latencyMs: 12 });
    const probed = registry.get('gpu') as NodeInfo;
    assert.equal(probed.state, 'untrusted');
    assert.equal(probed.latencyMs, 12);
    assert.match(probed.stateReason ?? '', /not trusted.*health: available/);

    assert.equal(registry.trust('gpu'), true);
    assert.equal(registry.get('gpu')?.state, 'available');
    assert.equal(registry.isEligible('gpu'), true);

    // A different machine announcing the same name must be trusted anew.
    registry.upsertDiscovered({ name: 'gpu', host: '10.0.0.5', port: 8000, model: 'qwen2.5:72b', tier: 2, nodeId: 'id-2' });
    assert.equal(registry.get('gpu')?.state, 'untrusted');

    assert.equal(registry.upsertDiscovered({ name: 'laptop', host: '10.9.9.9', port: 1, model: 'm', tier: 0 }), undefined);
    assert.equal(registry.upsertDiscovered({ name: 'alias', host: '10.0.0.1', port: 8000, model: 'm', tier: 0 }), undefined);
    assert.equal(registry.get('alias'), undefined);

    assert.equal(registry.removeDiscovered('laptop'), false, 'config nodes are not removed by discovery');
    assert.equal(registry.removeDiscovered('gpu'), true);
    assert.equal(registry.get('gpu'), undefined);
  });

  it('coalesces change notifications per tick, and reports removals', async () => {
    registry.setConfigNodes([node({ name: 'a' }), node({ name: 'b' })], TIMEOUTS);
    await nextTick();
    const events: string[][] = [];
    const removals: string[][] = [];
    registry.onDidChange((nodes) => events.push(nodes.map((n) => n.name)));
    registry.onDidRemove((names) => removals.push(names));

    const release = registry.acquire('a');
    release();
    registry.recordSuccess('b');
    registry.recordSuccess('a');
    assert.equal(events.length, 0, 'nothing is fired synchronously');
    await nextTick();
    assert.deepEqual(events, [['a', 'b']]);

    registry.setConfigNodes([node({ name: 'a' })], TIMEOUTS);
    await nextTick();
    assert.deepEqual(removals, [['b']]);
    assert.equal(events.length, 2);
  });

  it('announces breaker state changes as node changes', async () => {
    registry.setConfigNodes([node({ name: 'a' })], TIMEOUTS);
    await nextTick();
    const seen: NodeInfo[] = [];
    registry.onDidChange((nodes) => seen.push(...nodes));
    for (let i = 0; i < BREAKER.failure_threshold; i++) {
      await assert.rejects(
        registry.breaker('a').execute(async () => {
          throw new NodeError('refused', 'refused');
        }),
      );
    }
    await nextTick();
    assert.equal(seen.at(-1)?.breaker.state, 'open');
  });
});
