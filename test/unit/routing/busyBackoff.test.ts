import { strict as assert } from 'node:assert';
import { BusyBackoff } from '../../../src/core/routing/busyBackoff';

describe('BusyBackoff (when every node is full)', () => {
  it('grows the step, jitters it within [step/2, step), and stops at the budget', () => {
    let now = 1000;
    const b = new BusyBackoff({ budgetMs: 3000, firstStepMs: 200, maxStepMs: 1000, now: () => now, random: () => 0.5 });
    const waits: number[] = [];
    for (;;) {
      const w = b.next();
      if (w === undefined) break;
      waits.push(w);
      now += w;
    }
    assert.deepEqual(waits.slice(0, 4), [150, 300, 600, 750]);
    assert.equal(waits.reduce((s, w) => s + w, 0), 3000, 'the last wait ends exactly at the budget');
    assert.equal(b.elapsedMs, 3000);
  });

  it('never comes back sooner than Retry-After, but not past the budget', () => {
    let now = 0;
    const b = new BusyBackoff({ budgetMs: 5000, now: () => now, random: () => 0 });
    assert.equal(b.next(2000), 2000);
    now += 2000;
    assert.equal(b.next(10_000), 3000);
    now += 3000;
    assert.equal(b.next(), undefined);
  });

  it('different random draws give different waits, so refused coordinators do not return together', () => {
    const low = new BusyBackoff({ budgetMs: 10_000, now: () => 0, random: () => 0 }).next();
    const high = new BusyBackoff({ budgetMs: 10_000, now: () => 0, random: () => 0.99 }).next();
    assert.notEqual(low, high);
  });
});
