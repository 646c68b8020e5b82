import { strict as assert } from 'node:assert';
import { foldProbe, initialHealthState, type ProbedIdentity } from '../../../src/core/nodes/foldProbe';
import type { ProbeResult } from '../../../src/core/nodes/probeResult';

const probe = (over: Partial<ProbeResult>): ProbeResult => ({ name: 'n', kind: 'harombe', baseUrl: 'http://127.0.0.1:1', state: 'available', at: 1000, ...over });

describe('foldProbe (a probe result folded into a node state, purely)', () => {
  it('leaves its inputs untouched and returns the new state', () => {
    const state = initialHealthState();
    const identity: ProbedIdentity = { source: 'config', trusted: true, model: 'a', tier: 0, maxParallel: 4 };
    const before = JSON.stringify([state, identity]);
    const out = foldProbe('n', state, identity, probe({ latencyMs: 10, models: ['a'], loadedModels: ['a'], reportedLoad: 2 }));
    assert.equal(JSON.stringify([state, identity]), before);
    assert.deepEqual([out.state.latencyMs, out.state.models, out.state.loadedModels, out.state.reportedLoad, out.state.lastSeen], [10, ['a'], ['a'], 2, 1000]);
    const slower = foldProbe('n', out.state, identity, probe({ latencyMs: 20 }));
    assert.equal(slower.state.latencyMs, 0.3 * 20 + 0.7 * 10);
  });

  it("takes a discovered worker's model, tier and parallelism, never a configured node's", () => {
    const result = probe({ model: 'b', tier: 2, maxParallel: 8 });
    const configured = foldProbe('n', initialHealthState(), { source: 'config', trusted: true, model: 'a', tier: 0, maxParallel: 4 }, result);
    assert.deepEqual([configured.identity.model, configured.identity.tier, configured.identity.maxParallel], ['a', 0, 4]);
    const discovered = foldProbe('n', initialHealthState(), { source: 'mdns', trusted: true, model: 'a', tier: 0, maxParallel: 4 }, result);
    assert.deepEqual([discovered.identity.model, discovered.identity.tier, discovered.identity.maxParallel], ['b', 2, 8]);
  });

  it('a dead node has nothing loaded; a trusted discovered node answering with another id loses trust, with a warning', () => {
    const up = foldProbe('n', initialHealthState(), { source: 'mdns', trusted: true, model: 'a', tier: 0, maxParallel: 4 }, probe({ loadedModels: ['a'], reportedLoad: 1, nodeId: 'id-1' }));
    const down = foldProbe('n', up.state, up.identity, probe({ state: 'unavailable', reason: 'connection refused' }));
    assert.deepEqual([down.state.health, down.state.stateReason, down.state.loadedModels, down.state.reportedLoad], ['unavailable', 'connection refused', [], undefined]);
    assert.equal(down.notes[0]?.message, 'node n: unavailable (connection refused)');
    const other = foldProbe('n', up.state, up.identity, probe({ nodeId: 'id-2' }));
    assert.equal(other.identity.trusted, false);
    assert.equal(other.notes.find((n) => n.level === 'warn')?.message.includes('id-2'), true);
  });
});
