import { strict as assert } from 'node:assert';
import { rendezvousPick } from '../../../src/core/routing/rendezvous';

const id = (s: string) => s;
const keys = Array.from({ length: 2000 }, (_, i) => `conversation-${i}`);

describe('rendezvousPick (the conversation node every coordinator agrees on)', () => {
  it('independent coordinators with the nodes listed in different orders pick the same node', () => {
    const a = ['gpu-1', 'gpu-2', 'gpu-3'];
    const b = ['gpu-3', 'gpu-1', 'gpu-2'];
    for (const k of keys) assert.equal(rendezvousPick(k, a, id), rendezvousPick(k, b, id), k);
  });

  it('spreads conversations over the nodes about evenly', () => {
    const nodes = ['gpu-1', 'gpu-2', 'gpu-3'];
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(rendezvousPick(k, nodes, id)!, (counts.get(rendezvousPick(k, nodes, id)!) ?? 0) + 1);
    for (const n of nodes) assert.ok((counts.get(n) ?? 0) > keys.length / 3 - 150 && (counts.get(n) ?? 0) < keys.length / 3 + 150, `${n}: ${counts.get(n)}`);
  });

  it('a node joining takes only its share, and only from others to itself', () => {
    const before = ['gpu-1', 'gpu-2', 'gpu-3'];
    const after = [...before, 'gpu-4'];
    let moved = 0;
    for (const k of keys) {
      const was = rendezvousPick(k, before, id);
      const now = rendezvousPick(k, after, id);
      if (was !== now) {
        moved++;
        assert.equal(now, 'gpu-4', `${k} moved from ${was} to ${now}, not to the new node`);
      }
    }
    assert.ok(moved > keys.length / 4 - 150 && moved < keys.length / 4 + 150, `moved ${moved} of ${keys.length}`);
  });

  it('a node leaving moves only the conversations it held', () => {
    const before = ['gpu-1', 'gpu-2', 'gpu-3'];
    const after = ['gpu-1', 'gpu-3'];
    for (const k of keys) {
      const was = rendezvousPick(k, before, id);
      if (was !== 'gpu-2') assert.equal(rendezvousPick(k, after, id), was, k);
    }
  });
});
