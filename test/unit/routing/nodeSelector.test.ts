import { strict as assert } from 'node:assert';
import type { NodeInfo } from '../../../src/core/nodes/nodeInfo';
import { fallbackOrder } from '../../../src/core/routing/fallbackOrder';
import { NodeSelector, type SelectionPolicy } from '../../../src/core/routing/nodeSelector';

function node(name: string, tier: 0 | 1 | 2, extra: Partial<NodeInfo> = {}): NodeInfo {
  // Without a report, the load is this coordinator's own count, as the registry gives it.
  const inFlight = extra.inFlight ?? 0;
  const maxParallel = extra.maxParallel ?? 4;
  const load: NodeInfo['load'] = { running: Math.min(inFlight, maxParallel), queued: Math.max(0, inFlight - maxParallel), maxParallel, at: 0, source: 'local' };
  return {
    load,
    name,
    host: '127.0.0.1',
    port: 8000,
    kind: 'harombe',
    tier,
    model: 'm',
    source: 'config',
    state: 'available',
    inFlight: 0,
    maxParallel: 4,
    models: [],
    loadedModels: [],
    breaker: { state: 'closed' },
    latencyMs: 1,
    capabilities: { has: [], lacks: [], source: 'unknown' },
    contextWindow: { tokens: 16384, source: 'chosen' },
    ...extra,
  };
}

const graceful: SelectionPolicy = { strategy: 'graceful', preferLocal: true, loadBalance: true };
const up = (n: NodeInfo) => n.state === 'available' || n.state === 'degraded';

describe('fallbackOrder', () => {
  it('follows the design: 2→1→0, 1→2→0, 0→1→2; strict is the tier alone', () => {
    assert.deepEqual(fallbackOrder(2, 'graceful'), [2, 1, 0]);
    assert.deepEqual(fallbackOrder(1, 'graceful'), [1, 2, 0]);
    assert.deepEqual(fallbackOrder(0, 'graceful'), [0, 1, 2]);
    assert.deepEqual(fallbackOrder(1, 'strict'), [1]);
  });
});

describe('NodeSelector', () => {
  it('picks the wanted tier, then falls back in order when it has no eligible node', () => {
    const s = new NodeSelector(graceful);
    const nodes = [node('a0', 0), node('b1', 1, { state: 'unavailable' }), node('c2', 2)];
    assert.equal(s.select(nodes, { tier: 2, eligible: up })?.node.name, 'c2');
    const c = s.select(nodes, { tier: 1, eligible: up });
    assert.equal(c?.node.name, 'c2');
    assert.equal(c?.tier, 2);
    assert.equal(s.select(nodes, { tier: 1, eligible: up, exclude: new Set(['c2']) })?.node.name, 'a0');
  });

  it('strict returns nothing outside the tier', () => {
    const s = new NodeSelector({ ...graceful, strategy: 'strict' });
    const nodes = [node('a0', 0), node('b1', 1, { state: 'unavailable' })];
    assert.equal(s.select(nodes, { tier: 1, eligible: up }), undefined);
  });

  it('keeps a conversation on its previous node unless that node is saturated', () => {
    const s = new NodeSelector(graceful);
    const nodes = [node('x', 1, { inFlight: 2 }), node('y', 1)];
    const c = s.select(nodes, { tier: 1, eligible: up, sticky: 'x' });
    assert.equal(c?.node.name, 'x');
    assert.match(c?.why ?? '', /previous turn/);
    const full = [node('x', 1, { inFlight: 4, maxParallel: 4 }), node('y', 1)];
    assert.equal(s.select(full, { tier: 1, eligible: up, sticky: 'x' })?.node.name, 'y');
  });

  it('prefers an Ollama node with the model loaded, then the least loaded, then the lowest latency', () => {
    const s = new NodeSelector(graceful);
    const cold = node('cold', 1, { kind: 'ollama', loadedModels: [] });
    const warm = node('warm', 1, { kind: 'ollama', loadedModels: ['m'], inFlight: 1 });
    assert.equal(s.select([cold, warm], { tier: 1, eligible: up })?.why, 'model already loaded');
    const busy = node('busy', 1, { inFlight: 3 });
    const idle = node('idle', 1, { inFlight: 0, latencyMs: 40 });
    assert.equal(s.select([busy, idle], { tier: 1, eligible: up })?.node.name, 'idle');
    const far = node('far', 1, { latencyMs: 80 });
    const near = node('near', 1, { latencyMs: 2 });
    const pick = s.select([far, near], { tier: 1, eligible: up });
    assert.equal(pick?.node.name, 'near');
    assert.equal(pick?.why, 'lowest latency');
  });

  it('round-robins between equal nodes when load_balance is on, and not when it is off', () => {
    const nodes = [node('p', 0), node('q', 0), node('r', 0)];
    // The rotation starts where the random draw says (a draw of 0: the first node).
    const s = new NodeSelector(graceful, () => 0);
    const picks = Array.from({ length: 6 }, () => s.select(nodes, { tier: 0, eligible: up })?.node.name);
    assert.deepEqual(picks, ['p', 'q', 'r', 'p', 'q', 'r']);
    const noLb = new NodeSelector({ ...graceful, loadBalance: false });
    const same = Array.from({ length: 3 }, () => noLb.select(nodes, { tier: 0, eligible: up })?.node.name);
    assert.deepEqual(same, ['p', 'p', 'p']);
  });

  it('puts a saturated node last even when it has the best latency', () => {
    const s = new NodeSelector(graceful);
    const nodes = [node('full', 2, { inFlight: 4, maxParallel: 4, latencyMs: 0.5 }), node('slow', 2, { latencyMs: 90 })];
    assert.equal(s.select(nodes, { tier: 2, eligible: up })?.node.name, 'slow');
  });

  describe('load reported by the nodes and conversation affinity', () => {
    const reported = (running: number, queued: number, maxParallel = 4): NodeInfo['load'] => ({ running, queued, maxParallel, at: 0, source: 'reported' });

    it('ranks by reported load, a queued request weighing more than a running one', () => {
      const s = new NodeSelector(graceful);
      // b has fewer requests in all but one waits: a request sent to a still gets a slot.
      const nodes = [node('a', 0, { load: reported(3, 0), maxParallel: 8 }), node('b', 0, { load: reported(1, 1) })];
      nodes[0]!.load.maxParallel = 8;
      assert.equal(s.select(nodes, { tier: 0, eligible: up })?.node.name, 'a');
    });

    it('a node another coordinator filled is saturated even when this coordinator sent it nothing', () => {
      const s = new NodeSelector(graceful);
      const nodes = [node('a', 0, { load: reported(4, 0), latencyMs: 1 }), node('b', 0, { load: reported(0, 0), latencyMs: 50 })];
      assert.equal(s.select(nodes, { tier: 0, eligible: up })?.node.name, 'b');
    });

    it('independent selectors send a conversation to the same node, whatever order they list the nodes in', () => {
      const nodes = ['a', 'b', 'c'].map((n, i) => node(n, 0, { nodeId: `id-${n}`, port: 8000 + i }));
      const one = new NodeSelector(graceful, () => 0.1);
      const two = new NodeSelector(graceful, () => 0.9);
      for (let i = 0; i < 50; i++) {
        const key = `conv-${i}`;
        const x = one.select(nodes, { tier: 0, eligible: up, affinityKey: key });
        const y = two.select([...nodes].reverse(), { tier: 0, eligible: up, affinityKey: key });
        assert.equal(x?.node.name, y?.node.name, key);
        assert.equal(x?.affinity, 'hit');
      }
    });

    it('keeps the conversation node while it has a free slot, passes it over once it is saturated', () => {
      const s = new NodeSelector(graceful);
      const nodes = ['a', 'b'].map((n) => node(n, 0, { nodeId: n }));
      const key = 'conv-1';
      const preferred = s.select(nodes, { tier: 0, eligible: up, affinityKey: key })!.node.name;
      const other = preferred === 'a' ? 'b' : 'a';
      const busyButFree = nodes.map((n) => ({ ...n, load: n.name === preferred ? reported(3, 0) : reported(0, 0) }));
      assert.equal(s.select(busyButFree, { tier: 0, eligible: up, affinityKey: key })?.node.name, preferred);
      const full = nodes.map((n) => ({ ...n, load: n.name === preferred ? reported(4, 1) : reported(1, 0) }));
      const c = s.select(full, { tier: 0, eligible: up, affinityKey: key });
      assert.equal(c?.node.name, other);
      assert.equal(c?.affinity, 'passed');
      assert.match(c!.why, /4\/4 running, 1 queued/);
    });

    it('when every node is saturated the conversation stays on its node', () => {
      const s = new NodeSelector(graceful);
      const nodes = ['a', 'b'].map((n) => node(n, 0, { nodeId: n, load: reported(4, 1) }));
      assert.equal(s.select(nodes, { tier: 0, eligible: up, affinityKey: 'k' })?.affinity, 'hit');
    });

    it('ties start at a random node, not the first listed', () => {
      const nodes = [node('a', 0), node('b', 0), node('c', 0)];
      const firstPick = (r: number) => new NodeSelector(graceful, () => r).select(nodes, { tier: 0, eligible: up })?.node.name;
      assert.deepEqual([firstPick(0), firstPick(0.4), firstPick(0.9)], ['a', 'b', 'c']);
    });
  });
});
