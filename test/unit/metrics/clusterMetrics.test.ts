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

  it('keeps a bounded number of samples', () => {
    const m = new ClusterMetrics();
    for (let i = 0; i < 2000; i++) m.recordNodeSuccess('n', { ttftMs: i, totalMs: i, at: i });
    assert.ok(m.toState().nodes.n!.latency.length <= 512);
    assert.equal(m.snapshot().nodes.n?.requests, 2000);
  });
});
