import { strict as assert } from 'node:assert';
import type { ChatEvent, ErrorEvent, FallbackEvent } from '../../../src/core/chatEvent';
import { Coordinator } from '../../../src/core/coordinator';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';

async function collect(it: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('Busy nodes (503 / 429): move on without blame, back off when all are full', function () {
  this.timeout(20_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;
  let now: number;
  let waits: number[];

  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
  });

  async function setup(budgetMs: number) {
    cluster = await startFakeCluster([{ name: 'a', tier: 0 }, { name: 'b', tier: 0 }], {
      timeouts: { connect: 1, stall: 2 },
      health: { timeout: 0.5, interval: 60 },
      circuit_breaker: { failure_threshold: 1, timeout: 30, half_open_timeout: 2 },
    });
    now = 1_000_000;
    waits = [];
    coordinator = new Coordinator({
      config: cluster.config,
      clock: { now: () => now },
      // No real waiting: the wait advances the clock the backoff reads.
      busy: { busyBudgetMs: budgetMs, random: () => 0.5, sleep: async (ms) => void (waits.push(ms), (now += ms)) },
    });
    await coordinator.prober.sweep();
  }

  it('a node answering 503 passes the request to the next at once, and its breaker stays closed', async () => {
    await setup(5_000);
    await cluster.node('a').setFault({ type: 'status', status: 503, retryAfter: 2 });
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier: 0, stickyNode: 'a' }));
    const fallback = events.find((e) => e.type === 'fallback') as FallbackEvent | undefined;
    assert.ok(fallback, 'the chat is told the request moved');
    assert.match(fallback.reason, /busy \(503\)/);
    assert.equal(events.at(-1)?.type, 'done');
    assert.deepEqual(waits, [], 'no wait while another node had room');
    assert.equal(coordinator.nodes().find((n) => n.name === 'a')?.breaker.state, 'closed');
    const m = coordinator.metrics.snapshot();
    assert.equal(m.busyRefusals, 1);
    assert.equal(m.nodes.a?.errors ?? 0, 0, 'a busy node is not counted as failing');
  });

  it('when every node is busy it waits (honouring Retry-After) and tries again, then succeeds', async () => {
    await setup(30_000);
    await cluster.node('a').setFault({ type: 'status', status: 503, retryAfter: 3 });
    await cluster.node('b').setFault({ type: 'status', status: 429, retryAfter: 2 });
    const run = collect(coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier: 0 }));
    // Free a once the first refusals are in and the coordinator is waiting.
    while (waits.length === 0) await new Promise((r) => setTimeout(r, 5));
    await cluster.node('a').setFault({ type: 'none' });
    const events = await run;
    assert.equal(events.at(-1)?.type, 'done', JSON.stringify(events.at(-1)));
    // No node reports its load here (plain Ollama fakes): the wait lasts the whole Retry-After.
    const firstRound = waits.reduce((sum, w) => sum + w, 0);
    assert.ok(firstRound >= 2000, `waited ${firstRound} ms, at least the shortest Retry-After`);
    const moved = events.filter((e) => e.type === 'fallback') as FallbackEvent[];
    assert.ok(moved.some((f) => /every node was busy, waited/.test(f.reason)), moved.map((f) => f.reason).join(' | '));
  });

  it('gives up after the budget with a cluster_busy error that says how long it tried', async () => {
    await setup(5_000);
    await cluster.node('a').setFault({ type: 'status', status: 503, retryAfter: 1 });
    await cluster.node('b').setFault({ type: 'status', status: 503, retryAfter: 1 });
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier: 0 }));
    const err = events.at(-1) as ErrorEvent;
    assert.equal(err.type, 'error');
    assert.equal(err.code, 'cluster_busy');
    assert.match(err.message, /busy.*for 5\.0 s/);
    assert.equal(waits.reduce((s, w) => s + w, 0), 5_000);
    for (const n of coordinator.nodes()) assert.equal(n.breaker.state, 'closed', n.name);
  });
});
