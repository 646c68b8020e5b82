import { strict as assert } from 'node:assert';
import type { ChatEvent, DoneEvent, ErrorEvent } from '../../../src/core/chatEvent';
import { Coordinator } from '../../../src/core/coordinator';
import type { CompleteRequest } from '../../../src/core/routing/failoverRunner';
import { fakeReply } from '../../fakes/fakeReply';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';

const ask = (prompt: string, extra: Partial<CompleteRequest> = {}): CompleteRequest => ({ messages: [{ role: 'user', content: prompt }], ...extra });
const wireAsk = (prompt: string): CompleteRequest => ({
  ...ask(prompt),
  wire: { protocol: 'ollama', path: '/api/chat', body: { model: 'harombe', messages: [{ role: 'user', content: prompt }] } },
});

/** What the gateway shows: deltas and relayed records' text, dropped when a fallback says so. */
function textOf(events: ChatEvent[]): string {
  let text = '';
  for (const e of events) {
    if (e.type === 'delta' || e.type === 'wire') text += e.text;
    if (e.type === 'fallback' && e.discardPartial) text = '';
  }
  return text;
}

describe('Coordinator.completeTo (the push form the gateway uses)', function () {
  this.timeout(20_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;

  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
  });

  async function setup(specs: Parameters<typeof startFakeCluster>[0]) {
    cluster = await startFakeCluster(specs, { timeouts: { connect: 1, stall: 2 }, health: { timeout: 0.5, interval: 60 } });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
  }

  it('pushes the same events complete() yields, ending with done', async () => {
    await setup([{ name: 'only', tier: 0 }]);
    const pushed: ChatEvent[] = [];
    await coordinator.completeTo(ask('hi'), (e) => void pushed.push(e));
    const iterated: ChatEvent[] = [];
    for await (const e of coordinator.complete(ask('hi'))) iterated.push(e);
    const shape = (events: ChatEvent[]) => events.map((e) => (e.type === 'delta' ? `delta:${e.text}` : e.type));
    assert.deepEqual(shape(pushed), shape(iterated));
    assert.equal(pushed.at(-1)?.type, 'done');
    assert.equal(textOf(pushed), fakeReply(undefined, [{ role: 'user', content: 'hi' }], 'qwen2.5:3b'));
  });

  it("holds the node's answer back while the sink's promise is pending (backpressure), relayed or not", async () => {
    // Records 5 ms apart arrive in separate reads, so a relayed answer is several events too.
    await setup([{ name: 'only', tier: 0, options: { chunkDelayMs: 5 } }]);
    for (const request of [ask('hello there'), wireAsk('hello there')]) {
      const gaps: number[] = [];
      let last = -1;
      let holding = false;
      let overlapped = false;
      await coordinator.completeTo(request, (e) => {
        if (e.type !== 'delta' && e.type !== 'wire') return;
        if (holding) overlapped = true;
        const now = performance.now();
        if (last >= 0) gaps.push(now - last);
        last = now;
        holding = true;
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            holding = false;
            resolve();
          }, 25),
        );
      });
      assert.ok(gaps.length >= 3, `only ${gaps.length + 1} events`);
      assert.equal(overlapped, false, 'an event arrived while the previous one was still held');
      for (const gap of gaps) assert.ok(gap >= 20, `events ${gap.toFixed(1)} ms apart while each was held 25 ms`);
    }
  });

  it('a turn sent as soon as done arrives finds the node free (max_parallel 1 keeps the conversation on it)', async () => {
    await setup([
      { name: 'a', tier: 0, maxParallel: 1 },
      { name: 'b', tier: 0, maxParallel: 1 },
    ]);
    const served: string[] = [];
    for (let turn = 0; turn < 5; turn++) {
      let done: DoneEvent | undefined;
      await new Promise<void>((resolve) => {
        void coordinator.completeTo(ask(`turn ${turn}`, { stickyNode: 'a' }), (e) => {
          if (e.type !== 'done') return;
          done = e;
          resolve();
        });
      });
      // Next turn at once, while the finished request may still be unwinding.
      served.push((done as DoneEvent).node);
    }
    assert.deepEqual(served, ['a', 'a', 'a', 'a', 'a']);
  });

  it('a sink that ends the request (abort) cancels it on the node and hears only a cancelled error', async () => {
    await setup([{ name: 'slow', tier: 0, options: { chunkDelayMs: 100 } }]);
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    const aborted = cluster.node('slow').waitForClientAbort(5000);
    await coordinator.completeTo(ask('hi', { signal: controller.signal }), (e) => {
      events.push(e);
      if (e.type === 'delta') controller.abort();
    });
    assert.equal((events.at(-1) as ErrorEvent).code, 'cancelled');
    assert.equal((await aborted).aborted, true);
    assert.equal(coordinator.registry.get('slow')?.inFlight, 0);
  });
});
