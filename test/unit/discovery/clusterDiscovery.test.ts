import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import { ClusterDiscovery, type DiscoveryNotice, type ImpostorNotice, type WorkerSource } from '../../../src/core/nodes/clusterDiscovery';
import { FileTrustStore } from '../../../src/core/nodes/fileTrustStore';
import type { DiscoveredWorker } from '../../../src/core/nodes/mdnsBrowser';
import { NodeRegistry } from '../../../src/core/nodes/nodeRegistry';
import { Emitter } from '../../../src/core/util/emitter';

const BREAKER = { failure_threshold: 2, timeout: 60, success_threshold: 2, half_open_timeout: 30 };

/** Stands in for the mDNS browser: the tests fire its finds and losses. */
class FakeSource implements WorkerSource {
  readonly find = new Emitter<DiscoveredWorker>();
  readonly lose = new Emitter<string>();
  readonly onDidFind = this.find.event;
  readonly onDidLose = this.lose.event;
  readonly workers: DiscoveredWorker[] = [];
  disposed = false;
  refresh(): void {}
  dispose(): void {
    this.disposed = true;
  }
}

function worker(overrides: Partial<DiscoveredWorker> = {}): DiscoveredWorker {
  return { name: 'gpu-box', host: '10.0.0.7', port: 8000, model: 'qwen2.5:72b', tier: 2, nodeId: 'id-1', addresses: ['10.0.0.7'], ...overrides };
}

describe('ClusterDiscovery', () => {
  let home: string;
  let registry: NodeRegistry;
  let source: FakeSource;
  let store: FileTrustStore;
  let discovery: ClusterDiscovery;
  let probed: string[];
  let discovered: DiscoveryNotice[];
  let impostors: ImpostorNotice[];

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'harombe-trust-'));
    registry = new NodeRegistry({ breaker: BREAKER });
    source = new FakeSource();
    store = new FileTrustStore(home);
    probed = [];
    discovered = [];
    impostors = [];
    discovery = new ClusterDiscovery({ registry, source, trustStore: store, probe: async (n) => void probed.push(n) });
    discovery.onDidDiscover((n) => discovered.push(n));
    discovery.onDidDetectImpostor((n) => impostors.push(n));
  });

  afterEach(() => {
    discovery.dispose();
    registry.dispose();
    rmSync(home, { recursive: true, force: true });
  });

  it('adds an unknown worker untrusted, notifies once, probes it at once', () => {
    source.find.fire(worker());
    source.find.fire(worker({ model: 'qwen2.5:32b' }));
    const n = registry.get('gpu-box');
    assert.equal(n?.state, 'untrusted');
    assert.equal(registry.isEligible('gpu-box'), false);
    assert.deepEqual(discovered, [{ name: 'gpu-box', model: 'qwen2.5:72b', tier: 2, host: '10.0.0.7', port: 8000, nodeId: 'id-1' }]);
    assert.deepEqual(probed, ['gpu-box']);
  });

  it('pins trust to the node id in the file, and trusts the same machine again automatically', () => {
    source.find.fire(worker());
    const pin = discovery.trust('gpu-box');
    assert.equal(pin.nodeId, 'id-1');
    assert.equal(registry.isEligible('gpu-box'), true);
    const file = JSON.parse(readFileSync(join(home, 'trusted-nodes.json'), 'utf8')) as { nodes: Record<string, { nodeId: string }> };
    assert.equal(file.nodes['gpu-box']?.nodeId, 'id-1');
    assert.equal(statSync(join(home, 'trusted-nodes.json')).mode & 0o777, 0o600);

    source.lose.fire('gpu-box');
    assert.equal(registry.has('gpu-box'), false);
    source.find.fire(worker({ port: 8001 }));
    assert.equal(registry.get('gpu-box')?.state, 'available');
    assert.equal(discovered.length, 1, 'no second notice for a trusted machine');
  });

  it('keeps another machine under a trusted name untrusted and reports it, also when it comes without goodbye', () => {
    source.find.fire(worker());
    discovery.trust('gpu-box');
    // Same address, new id, no goodbye in between (the old one crashed).
    source.find.fire(worker({ nodeId: 'id-2' }));
    assert.equal(registry.get('gpu-box')?.state, 'untrusted');
    assert.deepEqual(impostors, [{ name: 'gpu-box', expectedId: 'id-1', actualId: 'id-2', host: '10.0.0.7', via: 'announcement' }]);
    // An announcement without any id does not inherit the trust either.
    source.find.fire(worker({ nodeId: undefined, host: '10.0.0.8' }));
    assert.equal(registry.get('gpu-box')?.state, 'untrusted');
    assert.equal(registry.isEligible('gpu-box'), false);
  });

  it('untrusts a node whose /health answers with another id than the pinned one', async () => {
    source.find.fire(worker());
    discovery.trust('gpu-box');
    registry.applyProbe('gpu-box', { name: 'gpu-box', kind: 'harombe', baseUrl: 'http://10.0.0.7:8000', state: 'available', at: 1, nodeId: 'id-evil' });
    assert.equal(registry.isEligible('gpu-box'), false, 'untrusted the moment the probe lands, before any event');
    await nextTick();
    await nextTick();
    assert.equal(impostors[0]?.actualId, 'id-evil');
    assert.equal(impostors[0]?.via, 'health');
  });

  it('removes a node on goodbye with the registry change in the next tick', async () => {
    source.find.fire(worker());
    await nextTick();
    let removed = false;
    registry.onDidRemove((names) => {
      if (names.includes('gpu-box')) removed = true;
    });
    source.lose.fire('gpu-box');
    assert.equal(removed, false, 'the change is coalesced, not announced inside fire()');
    await nextTick();
    assert.equal(removed, true, 'not announced in the next tick');
    assert.equal(registry.get('gpu-box'), undefined);
  });

  it('untrust forgets the pin and takes a trusted node back to untrusted; a worker without id cannot be trusted', () => {
    source.find.fire(worker());
    discovery.trust('gpu-box');
    assert.equal(discovery.untrust('gpu-box'), true);
    assert.equal(registry.get('gpu-box')?.state, 'untrusted');
    assert.equal(store.get('gpu-box'), undefined);
    source.find.fire(worker({ name: 'py-box', nodeId: undefined, host: '10.0.0.9' }));
    assert.throws(() => discovery.trust('py-box'), /no node id/);
    assert.throws(() => discovery.trust('nope'), /no discovered node/);
  });

  it('leaves configured nodes alone and disposes its source', () => {
    registry.setConfigNodes([{ name: 'gpu-box', host: '10.0.0.1', port: 8000, model: 'm', tier: 0, kind: 'ollama', max_parallel: 4, enabled: true }], { connectTimeoutMs: 1000, stallTimeoutMs: 1000 });
    source.find.fire(worker());
    assert.equal(registry.get('gpu-box')?.source, 'config');
    assert.equal(discovered.length, 0);
    assert.throws(() => discovery.trust('gpu-box'), /no discovered node/);
    discovery.dispose();
    assert.equal(source.disposed, true);
  });
});

describe('FileTrustStore', () => {
  it('reads what another instance wrote, and treats a damaged file as trusting nothing', () => {
    const home = mkdtempSync(join(tmpdir(), 'harombe-trust-'));
    try {
      const a = new FileTrustStore(home);
      const b = new FileTrustStore(home);
      a.set('x', { nodeId: 'id-x', tokenFingerprint: 'ab' });
      assert.equal(b.get('x')?.nodeId, 'id-x');
      assert.equal(b.get('x')?.tokenFingerprint, 'ab');
      assert.equal(b.delete('x'), true);
      assert.equal(a.get('x'), undefined);
      assert.equal(a.delete('x'), false);
      writeFileSync(a.file, '{"nodes": {"y": {"nodeId": "id-y"}, "bad": {"nodeId": 3}}');
      assert.deepEqual(Object.keys(a.all()), []);
      writeFileSync(a.file, '{"version":1,"nodes": {"y": {"nodeId": "id-y"}, "bad": {"nodeId": 3}}}');
      assert.deepEqual(Object.keys(a.all()), ['y']);
      assert.throws(() => a.set('z', { nodeId: '' }), /no node id/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
