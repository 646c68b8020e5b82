import { strict as assert } from 'node:assert';
import type { NodeConfig } from '../../../src/core/config/schema';
import { LOAD_STALE_MS, NodeRegistry } from '../../../src/core/nodes/nodeRegistry';

const BREAKER = { failure_threshold: 2, timeout: 60, success_threshold: 2, half_open_timeout: 30 };
const TIMEOUTS = { connectTimeoutMs: 1_000, stallTimeoutMs: 30_000 };
const gpu = (name: string, extra: Partial<NodeConfig> = {}): NodeConfig => ({ name, host: '10.0.0.1', port: 8000, model: 'm', tier: 0, kind: 'harombe', max_parallel: 4, enabled: true, ...extra });

describe('NodeRegistry load (reported by the node plus this coordinator’s dispatches since)', () => {
  let now: number;
  let registry: NodeRegistry;
  const make = (localLoadOnly = false) => {
    registry = new NodeRegistry({ breaker: BREAKER, clock: { now: () => now }, localLoadOnly });
    registry.setConfigNodes([gpu('a'), gpu('b', { port: 8001, kind: 'ollama' })], TIMEOUTS);
  };
  beforeEach(() => (now = 10_000));
  afterEach(() => registry.dispose());

  it('without a report the load is the local count', () => {
    make();
    registry.acquire('a');
    assert.deepEqual(registry.get('a')!.load, { running: 1, queued: 0, maxParallel: 4, at: now, source: 'local' });
  });

  it('a report counts every client; dispatches after it are added, into free slots first, then the queue', () => {
    make();
    registry.acquire('a'); // before the report: the node already counts it
    now = 11_000;
    registry.applyLoad('a', { running: 3, queued: 0, maxParallel: 4 }, now);
    now = 11_100;
    registry.acquire('a');
    registry.acquire('a');
    const l = registry.get('a')!.load;
    assert.deepEqual({ running: l.running, queued: l.queued, source: l.source }, { running: 4, queued: 1, source: 'reported' });
  });

  it('a dispatch that ended is no longer added', () => {
    make();
    registry.applyLoad('a', { running: 1, queued: 0 }, now);
    now += 50;
    const release = registry.acquire('a');
    assert.equal(registry.get('a')!.load.running, 2);
    release();
    assert.equal(registry.get('a')!.load.running, 1);
  });

  it('an older reading arriving late does not replace a newer one', () => {
    make();
    registry.applyLoad('a', { running: 2, queued: 1 }, 12_000);
    registry.applyLoad('a', { running: 0, queued: 0 }, 11_000);
    assert.equal(registry.get('a')!.load.queued, 1);
  });

  it('a stale report falls back to the local count', () => {
    make();
    registry.applyLoad('a', { running: 4, queued: 3 }, now);
    now += LOAD_STALE_MS + 1;
    assert.equal(registry.get('a')!.load.source, 'local');
    assert.equal(registry.get('a')!.load.running, 0);
  });

  it('HAROMBE_LOAD_SOURCE=local (localLoadOnly) ignores reports', () => {
    make(true);
    registry.applyLoad('a', { running: 4, queued: 3 }, now);
    assert.equal(registry.get('a')!.load.source, 'local');
  });

  it('a probe of a worker folds its running and queued; an unreachable node forgets them', () => {
    make();
    const base = { name: 'a', kind: 'harombe' as const, baseUrl: registry.endpoint('a').baseUrl };
    registry.applyProbe('a', { ...base, state: 'available', load: { running: 2, queued: 1, maxParallel: 2 }, at: now });
    assert.deepEqual(registry.get('a')!.load, { running: 2, queued: 1, maxParallel: 2, at: now, source: 'reported' });
    registry.applyProbe('a', { ...base, state: 'unavailable', reason: 'connection refused', at: now + 1 });
    assert.equal(registry.get('a')!.load.source, 'local');
  });
});
