import { strict as assert } from 'node:assert';
import { ClusterMetrics, percentile } from '../../../src/core/metrics/clusterMetrics';

describe('ClusterMetrics', () => {
  it('computes nearest-rank percentiles', () => {
    assert.equal(percentile([], 0.5), undefined);
    assert.equal(percentile([5], 0.95), 5);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(hundred, 0.5), 50);
    assert.equal(percentile(hundred, 0.95), 95);
  });

  it('aggregates per node and per tier, and survives a round trip through its state', () => {
    const m = new ClusterMetrics(undefined, 1000);
    m.recordRouted(2);
    m.recordRouted(0);
    m.recordNodeSuccess('server', { ttftMs: 100, totalMs: 1100, completionTokens: 50, generationMs: 1000, at: 2000 });
    m.recordNodeError('laptop', 2100);
    m.recordFallback();
    const copy = new ClusterMetrics(JSON.parse(JSON.stringify(m.toState())));
    const s = copy.snapshot();
    assert.equal(s.requests, 2);
    assert.deepEqual(s.routedByTier, { '0': 1, '1': 0, '2': 1 });
    assert.equal(s.fallbacks, 1);
    assert.equal(s.nodes.server?.tokensPerSecond, 50);
    assert.equal(s.nodes.server?.ttftP50Ms, 100);
    assert.equal(s.nodes.laptop?.errors, 1);
    const prom = copy.toPrometheus();
    assert.match(prom, /^harombe_routed_total\{tier="2"\} 1$/m);
    assert.match(prom, /^harombe_node_tokens_per_second\{node="server"\} 50$/m);
    assert.match(prom, /^# TYPE harombe_node_errors_total counter$/m);
  });

  it('keeps the most recent 512 samples, errors between them included', () => {
    const m = new ClusterMetrics();
    for (let i = 0; i < 2000; i++) {
      m.recordNodeSuccess('n', { ttftMs: i, totalMs: 10_000 + i, at: i });
      if (i % 7 === 0) m.recordNodeError('n', i);
    }
    const n = m.toState().nodes.n!;
    const last = (from: number) => Array.from({ length: 512 }, (_, k) => from + 2000 - 512 + k);
    assert.deepEqual([...n.ttft].sort((a, b) => a - b), last(0));
    assert.deepEqual([...n.latency].sort((a, b) => a - b), last(10_000));
    // Nearest rank over 1488..1999: the 256th value is the median.
    assert.equal(m.snapshot().nodes.n?.ttftP50Ms, 1488 + 255);
    assert.equal(m.snapshot().nodes.n?.requests, 2000 + Math.ceil(2000 / 7));
  });

  it('goes on keeping the most recent samples after a restart from saved state', () => {
    const first = new ClusterMetrics();
    for (let i = 0; i < 700; i++) first.recordNodeSuccess('n', { ttftMs: i, totalMs: i, at: i });
    const second = new ClusterMetrics(first.toState());
    for (let i = 700; i < 1300; i++) second.recordNodeSuccess('n', { ttftMs: i, totalMs: i, at: i });
    assert.deepEqual([...second.toState().nodes.n!.ttft].sort((a, b) => a - b), Array.from({ length: 512 }, (_, k) => 1300 - 512 + k));
  });
});

describe('ClusterMetrics: ghost-text completions', () => {
  it('counts outcomes and keystroke-to-ghost percentiles per serving node, through a saved state', () => {
    const m = new ClusterMetrics(undefined, 0);
    for (let i = 1; i <= 10; i++) {
      m.recordCompletionRequested();
      m.recordCompletionShown(i <= 8 ? 'laptop' : 'cache', i * 10);
    }
    m.recordCompletionRequested();
    m.recordCompletionCancelled();
    m.recordCompletionHedged();
    m.recordCompletionAccepted();
    const c = new ClusterMetrics(JSON.parse(JSON.stringify(m.toState()))).snapshot().completions;
    assert.deepEqual(
      { requested: c.requested, shown: c.shown, accepted: c.accepted, cancelled: c.cancelled, hedged: c.hedged },
      { requested: 11, shown: 10, accepted: 1, cancelled: 1, hedged: 1 },
    );
    assert.deepEqual(c.nodes.laptop, { shown: 8, keystrokeToGhostP50Ms: 40, keystrokeToGhostP90Ms: 80 });
    assert.deepEqual(c.nodes.cache, { shown: 2, keystrokeToGhostP50Ms: 90, keystrokeToGhostP90Ms: 100 });
    const prom = m.toPrometheus();
    assert.match(prom, /^harombe_completions_total\{outcome="requested"\} 11$/m);
    assert.match(prom, /^harombe_completions_total\{outcome="hedged"\} 1$/m);
    assert.match(prom, /^harombe_completion_keystroke_to_ghost_p90_ms\{node="laptop"\} 80$/m);
  });

  it('loads a state saved before completions were counted, and counts from zero', () => {
    const old = { version: 1, since: 5, nodes: {}, routedByTier: [1, 0, 0], fallbacks: 0, requests: 1, failedRequests: 0 } as const;
    const m = new ClusterMetrics(structuredClone(old) as unknown as ConstructorParameters<typeof ClusterMetrics>[0]);
    assert.deepEqual(m.snapshot().completions, { requested: 0, shown: 0, accepted: 0, cancelled: 0, hedged: 0, nodes: {} });
    assert.match(m.toPrometheus(), /^harombe_completions_total\{outcome="shown"\} 0$/m);
    m.recordCompletionShown('laptop', 12);
    assert.equal(m.snapshot().completions.nodes.laptop?.keystrokeToGhostP50Ms, 12);
  });
});
