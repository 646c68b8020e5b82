import { strict as assert } from 'node:assert';
import { Admission, isRefusal, type Refusal, type Ticket } from '../../../src/node/admission';

describe('Admission (the worker serves at most max_parallel, queues a few, turns the rest away)', () => {
  it('admits up to maxParallel at once, queues up to maxQueue, and refuses the next at once', async () => {
    const a = new Admission({ maxParallel: 2, maxQueue: 1, maxWaitMs: 60_000 });
    const t1 = (await a.enter()) as Ticket;
    const t2 = (await a.enter()) as Ticket;
    assert.ok(!isRefusal(t1) && !isRefusal(t2));
    const queued = a.enter();
    assert.deepEqual(a.load(), { running: 2, queued: 1, maxParallel: 2, maxQueue: 1 });
    const refused = await a.enter();
    assert.ok(isRefusal(refused));
    assert.equal(refused.refused, 'full');
    assert.ok(refused.retryAfterMs >= 100);
    t1.release();
    t1.release(); // twice is once
    const t3 = await queued;
    assert.ok(!isRefusal(t3));
    assert.deepEqual(a.load(), { running: 2, queued: 0, maxParallel: 2, maxQueue: 1 });
    t2.release();
    t3.release();
    assert.equal(a.load().running, 0);
  });

  it('a newcomer never jumps the queue when a slot frees', async () => {
    const a = new Admission({ maxParallel: 1, maxQueue: 2, maxWaitMs: 60_000 });
    const t1 = (await a.enter()) as Ticket;
    const order: string[] = [];
    const w1 = a.enter().then((t) => (order.push('first'), t as Ticket));
    t1.release();
    const w2 = a.enter().then((t) => (order.push('second'), t as Ticket));
    (await w1).release();
    (await w2).release();
    assert.deepEqual(order, ['first', 'second']);
  });

  it('bounds the wait: a queued request is turned away when no slot frees in time', async () => {
    const a = new Admission({ maxParallel: 1, maxQueue: 4, maxWaitMs: 20 });
    const t1 = (await a.enter()) as Ticket;
    const r = (await a.enter()) as Refusal;
    assert.equal(r.refused, 'timeout');
    assert.equal(a.load().queued, 0);
    assert.equal(a.counts.timedOut, 1);
    t1.release();
  });

  it('a client that leaves while queued gives its place up', async () => {
    const a = new Admission({ maxParallel: 1, maxQueue: 1, maxWaitMs: 60_000 });
    const t1 = (await a.enter()) as Ticket;
    const ac = new AbortController();
    const w = a.enter(ac.signal);
    assert.equal(a.load().queued, 1);
    ac.abort();
    assert.ok(isRefusal(await w));
    assert.equal(a.load().queued, 0);
    // The freed place is there for the next one.
    const next = a.enter();
    assert.equal(a.load().queued, 1);
    t1.release();
    const t = await next;
    assert.ok(!isRefusal(t));
    t.release();
  });

  it('Retry-After grows with the queue ahead and the average service time', async () => {
    let now = 0;
    const a = new Admission({ maxParallel: 1, maxQueue: 10, maxWaitMs: 60_000, now: () => now });
    const t = (await a.enter()) as Ticket;
    now += 4000;
    t.release(); // one run of 4 s
    const t2 = (await a.enter()) as Ticket;
    const short = a.retryAfterMs();
    void a.enter();
    void a.enter();
    assert.ok(a.retryAfterMs() > short, `${a.retryAfterMs()} after 2 more queued vs ${short}`);
    assert.equal(short, 4000);
    t2.release();
  });
});
