import { strict as assert } from 'node:assert';
import { Canceller, type CancelSignal } from '../../src/core/util/canceller';

describe('Canceller', () => {
  it('reads like an AbortSignal before and after it aborts', () => {
    const c = new Canceller();
    const signal: CancelSignal = c.signal;
    assert.equal(signal.aborted, false);
    assert.equal(signal.reason, undefined);
    const why = new Error('client went away');
    c.abort(why);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, why);
    c.abort(new Error('second'));
    assert.equal(signal.reason, why, 'the first reason stays');
  });

  it('gives an Error as the reason when none is given, as AbortController does', () => {
    const c = new Canceller();
    c.abort();
    assert.ok(c.reason instanceof Error);
  });

  it('runs each listener once, in the order added; a removed or duplicate listener does not run', () => {
    const c = new Canceller();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    const gone = () => calls.push('gone');
    c.addEventListener('abort', a);
    c.addEventListener('abort', gone);
    c.addEventListener('abort', b);
    c.addEventListener('abort', a);
    c.removeEventListener('abort', gone);
    c.abort();
    c.abort();
    assert.deepEqual(calls, ['a', 'b']);
  });

  it('never runs a listener added after it aborted', () => {
    const c = new Canceller();
    c.abort();
    let ran = false;
    c.addEventListener('abort', () => (ran = true));
    c.abort();
    assert.equal(ran, false);
  });

  it('runs the other listeners when one throws, and reports that error as uncaught', async () => {
    const c = new Canceller();
    const boom = new Error('listener failed');
    let after = false;
    c.addEventListener('abort', () => {
      throw boom;
    });
    c.addEventListener('abort', () => (after = true));
    // Mocha's own handler would fail the test on the report we expect: take it out meanwhile.
    const mochas = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    let reported: unknown;
    process.once('uncaughtException', (err) => (reported = err));
    try {
      c.abort();
      assert.equal(after, true);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of mochas) process.on('uncaughtException', l);
    }
    assert.equal(reported, boom);
  });

  it('is accepted where the core takes an AbortSignal-shaped value, and an AbortSignal is too', () => {
    const take = (s: CancelSignal) => s.aborted;
    const controller = new AbortController();
    assert.equal(take(controller.signal), false);
    assert.equal(take(new Canceller()), false);
  });
});
