import { strict as assert } from 'node:assert';
import { Emitter } from '../../src/core/util/emitter';

describe('Emitter', () => {
  it('delivers to listeners until they are disposed, and survives a throwing listener', () => {
    const e = new Emitter<number>();
    const got: number[] = [];
    e.event(() => {
      throw new Error('boom');
    });
    const sub = e.event((v) => got.push(v));
    e.fire(1);
    sub.dispose();
    e.fire(2);
    assert.deepEqual(got, [1]);
    assert.equal(e.listenerCount, 1);
  });
});
