import { strict as assert } from 'node:assert';
import type { ChatEvent, DoneEvent, ErrorEvent, FallbackEvent, RouteEvent } from '../../../src/core/chatEvent';
import { Conversation } from '../../../src/core/conversation';
import { Coordinator } from '../../../src/core/coordinator';
import type { CompleteRequest } from '../../../src/core/routing/failoverRunner';
import type { Fault } from '../../fakes/fault';
import { fakeReply } from '../../fakes/fakeReply';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';

async function collect(it: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

function textOf(events: ChatEvent[]): string {
  // What a UI shows: deltas, with the partial answer dropped when a fallback says so.
  let text = '';
  for (const e of events) {
    if (e.type === 'delta') text += e.text;
    if (e.type === 'fallback' && e.discardPartial) text = '';
  }
  return text;
}

const first = <T extends ChatEvent['type']>(events: ChatEvent[], type: T) => events.find((e) => e.type === type) as Extract<ChatEvent, { type: T }> | undefined;
const all = <T extends ChatEvent['type']>(events: ChatEvent[], type: T) => events.filter((e) => e.type === type) as Extract<ChatEvent, { type: T }>[];

const ask = (prompt: string, extra: Partial<CompleteRequest> = {}): CompleteRequest => ({ messages: [{ role: 'user', content: prompt }], ...extra });
const expected = (model: string, prompt: string) => fakeReply(undefined, [{ role: 'user', content: prompt }], model);

describe('Coordinator', function () {
  this.timeout(20_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;

  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
  });

  async function setup(specs: Parameters<typeof startFakeCluster>[0], extra: Parameters<typeof startFakeCluster>[1] = {}) {
    cluster = await startFakeCluster(specs, {
      timeouts: { connect: 1, stall: 0.5 },
      health: { timeout: 0.5, interval: 60 },
      circuit_breaker: { timeout: 0.3, half_open_timeout: 2 },
      ...extra,
    });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
  }

  it('routes by the rubric, streams the whole answer and says which node answered and why', async () => {
    await setup([
      { name: 'laptop', tier: 0 },
      { name: 'workstation', tier: 1 },
      { name: 'server', tier: 2 },
    ]);
    const prompt = 'Refactor this module into smaller classes and keep behaviour the same';
    const events = await collect(coordinator.complete(ask(prompt, { intent: 'refactor' })));
    const route = first(events, 'route') as RouteEvent;
    assert.equal(route.tier, 2);
    assert.equal(route.node, 'server');
    assert.ok(route.reasons.length > 0 && route.reasons.some((r) => /refactor/i.test(r)), route.reasons.join());
    assert.equal(textOf(events), expected('qwen2.5:72b', prompt));
    const done = events.at(-1) as DoneEvent;
    assert.equal(done.type, 'done');
    assert.equal(done.node, 'server');
    assert.ok(done.tokens.completion && done.tokens.completion > 0);

    const simple = await collect(coordinator.complete(ask('what is 2+2?')));
    assert.equal((first(simple, 'route') as RouteEvent).node, 'laptop');
  });

  it('lets an explicit tier override the classifier', async () => {
    await setup([
      { name: 'laptop', tier: 0 },
      { name: 'server', tier: 2 },
    ]);
    const events = await collect(coordinator.complete(ask('hi there', { tier: 2 })));
    const route = first(events, 'route') as RouteEvent;
    assert.equal(route.node, 'server');
    assert.equal(route.forced, true);
  });

  const faults: [string, Fault][] = [
    ['refuse', { type: 'refuse' }],
    ['die_before_headers', { type: 'die_before_headers' }],
    ['die_mid_stream', { type: 'die_mid_stream', afterChunks: 3 }],
    ['hang', { type: 'hang' }],
    ['trickle', { type: 'trickle', intervalMs: 2000 }],
    ['500', { type: 'status', status: 500 }],
    ['502', { type: 'status', status: 502 }],
    ['429', { type: 'status', status: 429, retryAfter: 5 }],
    ['503 busy', { type: 'status', status: 503 }],
    ['garbage', { type: 'garbage' }],
    ['oversized', { type: 'oversized', bytes: 2 * 1024 * 1024 }],
    ['no_final', { type: 'no_final' }],
  ];
  for (const [label, fault] of faults) {
    it(`finishes the request on another node when the chosen one fails: ${label}`, async () => {
      await setup([
        { name: 'big-a', tier: 2, options: { chunkDelayMs: 5 } },
        { name: 'big-b', tier: 2, model: 'llama3.3:70b' },
        { name: 'small', tier: 0 },
      ]);
      await cluster.node('big-a').setFault(fault);
      const prompt = 'Write unit tests for the parser module';
      const events = await collect(coordinator.complete(ask(prompt, { tier: 2, stickyNode: 'big-a' })));
      const fb = first(events, 'fallback') as FallbackEvent;
      assert.ok(fb, `no fallback event in ${JSON.stringify(events.map((e) => e.type))}`);
      assert.equal(fb.from, 'big-a');
      assert.equal(fb.to, 'big-b', 'same tier first');
      assert.ok(fb.reason.length > 0);
      const done = events.at(-1) as DoneEvent;
      assert.equal(done.type, 'done', JSON.stringify(events.at(-1)));
      assert.equal(done.node, 'big-b');
      assert.equal(done.timing.fallbacks, 1);
      // Complete, and not duplicated: exactly the other node's answer.
      assert.equal(textOf(events), expected('llama3.3:70b', prompt));
      if (label === 'die_mid_stream') assert.equal(fb.discardPartial, true);
      // One failure is below the threshold: the breaker stays closed (thresholds are tested below).
      assert.equal(coordinator.registry.breaker('big-a').state, 'closed');
    });
  }

  it('falls back across tiers in the graceful order and reports the tier that took over', async () => {
    await setup([
      { name: 'small', tier: 0 },
      { name: 'mid', tier: 1 },
      { name: 'big', tier: 2 },
    ]);
    await cluster.node('big').setFault({ type: 'status', status: 500 });
    const events = await collect(coordinator.complete(ask('design the architecture', { tier: 2 })));
    const fb = first(events, 'fallback') as FallbackEvent;
    assert.equal(fb.to, 'mid');
    assert.equal(fb.tier, 1);
    assert.equal((events.at(-1) as DoneEvent).node, 'mid');
  });

  it('strict fallback: a clear error naming the tier and its nodes', async () => {
    await setup([{ name: 'small', tier: 0 }, { name: 'big', tier: 2 }], { routing: { fallback_strategy: 'strict' } });
    await cluster.node('big').setFault({ type: 'refuse' });
    await coordinator.prober.sweep();
    const events = await collect(coordinator.complete(ask('anything', { tier: 2 })));
    const err = events.at(-1) as ErrorEvent;
    assert.equal(err.type, 'error');
    assert.equal(err.code, 'no_node');
    assert.match(err.message, /tier 2/);
    assert.match(err.message, /big/);
    assert.match(err.message, /strict/);
    assert.equal(all(events, 'delta').length, 0);
  });

  it('reports every attempt when all candidates fail', async () => {
    await setup([{ name: 'a', tier: 0 }, { name: 'b', tier: 1 }]);
    await cluster.node('a').setFault({ type: 'status', status: 500 });
    await cluster.node('b').setFault({ type: 'die_before_headers' });
    const events = await collect(coordinator.complete(ask('hello', { tier: 0 })));
    const err = events.at(-1) as ErrorEvent;
    assert.equal(err.code, 'all_failed');
    assert.deepEqual(err.attempts.map((a) => a.node), ['a', 'b']);
  });

  it('opens the breaker after 5 failures, skips the node, then half-opens and closes after 2 successes', async () => {
    await setup([{ name: 'flaky', tier: 1 }, { name: 'steady', tier: 1 }], { routing: { load_balance: false } });
    await cluster.node('flaky').setFault({ type: 'status', status: 500 });
    for (let i = 0; i < 5; i++) {
      const events = await collect(coordinator.complete(ask('explain closures in depth', { tier: 1, stickyNode: 'flaky' })));
      assert.equal((events.at(-1) as DoneEvent).node, 'steady');
    }
    const breaker = coordinator.registry.breaker('flaky');
    assert.equal(breaker.state, 'open');
    assert.ok(breaker.retryAt && breaker.retryAt > Date.now());
    const chats = () => cluster.node('flaky').requests.filter((r) => r.path === '/api/chat').length;
    const before = chats();
    const skipped = await collect(coordinator.complete(ask('explain closures in depth', { tier: 1, stickyNode: 'flaky' })));
    assert.equal((first(skipped, 'route') as RouteEvent).node, 'steady');
    assert.equal(all(skipped, 'fallback').length, 0);
    assert.equal(chats(), before, 'an open breaker sends the node nothing');

    await cluster.node('flaky').setFault({ type: 'none' });
    await new Promise((r) => setTimeout(r, 400)); // cooldown 0.3 s
    const trial1 = await collect(coordinator.complete(ask('explain closures in depth', { tier: 1, stickyNode: 'flaky' })));
    assert.equal((trial1.at(-1) as DoneEvent).node, 'flaky');
    assert.equal(breaker.state, 'half-open', 'one success is not enough');
    const trial2 = await collect(coordinator.complete(ask('explain closures in depth', { tier: 1, stickyNode: 'flaky' })));
    assert.equal((trial2.at(-1) as DoneEvent).node, 'flaky');
    assert.equal(breaker.state, 'closed');
  });

  it('does not count a busy node (503) or rate limit (429) against its breaker', async () => {
    await setup([{ name: 'busy', tier: 1 }, { name: 'free', tier: 1 }]);
    await cluster.node('busy').setFault({ type: 'status', status: 503 });
    for (let i = 0; i < 6; i++) await collect(coordinator.complete(ask('x', { tier: 1, stickyNode: 'busy' })));
    assert.equal(coordinator.registry.breaker('busy').state, 'closed');
  });

  it('keeps a conversation on the node that served its previous turn', async () => {
    await setup([{ name: 'm1', tier: 1 }, { name: 'm2', tier: 1 }, { name: 'm3', tier: 1 }]);
    const conversation = new Conversation();
    const nodes: string[] = [];
    for (const prompt of ['explain how a hash map works', 'explain resizing in more depth', 'explain open addressing in depth']) {
      const events = await collect(coordinator.chat({ conversation, prompt, tier: 1 }));
      nodes.push((events.at(-1) as DoneEvent).node);
    }
    assert.equal(new Set(nodes).size, 1, nodes.join());
    assert.equal(conversation.messages.filter((m) => m.role === 'assistant').length, 3);
    // The history travels with every turn (nodes are stateless).
    const last = cluster.node(nodes[0] as string).requests.filter((r) => r.path === '/api/chat').at(-1)?.body as { messages: unknown[] };
    assert.equal(last.messages.length, 5);
  });

  it('spreads single requests across equal nodes of a tier', async () => {
    // Equal in load; their probe latencies are whatever a busy CI machine makes them, and with
    // prefer_local a 5 ms bucket apart would rank one first every time, so latency is left out.
    await setup([{ name: 'p', tier: 0 }, { name: 'q', tier: 0 }], { routing: { prefer_local: false } });
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add(((await collect(coordinator.complete(ask('hi')))).at(-1) as DoneEvent).node);
    assert.deepEqual([...served].sort(), ['p', 'q']);
  });

  it('speaks to Harombe 0.3.1 workers (/api/complete) and to our workers (streaming /api/chat)', async () => {
    await setup([
      { name: 'old', tier: 0, flavour: 'python' },
      { name: 'new', tier: 1, flavour: 'harombe' },
      { name: 'oai', tier: 2, flavour: 'openai' },
    ]);
    assert.equal(coordinator.registry.protocol('old'), 'complete');
    assert.equal(coordinator.registry.protocol('new'), 'ollama');
    const old = await collect(coordinator.complete(ask('hi', { tier: 0 })));
    assert.equal(textOf(old), expected('qwen2.5:3b', 'hi'));
    assert.deepEqual(Object.keys(cluster.node('old').requests.at(-1)?.body as object).sort(), ['messages', 'temperature']);
    const fresh = await collect(coordinator.complete(ask('hi', { tier: 1 })));
    assert.ok(all(fresh, 'delta').length > 1, 'streamed in several deltas');
    assert.equal(cluster.node('new').requests.at(-1)?.path, '/api/chat');
    const oai = await collect(coordinator.complete(ask('hi', { tier: 2 })));
    assert.equal(textOf(oai), expected('qwen2.5:72b', 'hi'));
  });

  it('cancels the request on the node when the caller aborts', async () => {
    await setup([{ name: 'slow', tier: 0, options: { chunkDelayMs: 200 } }]);
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    const aborted = cluster.node('slow').waitForClientAbort(5000);
    for await (const e of coordinator.complete(ask('hi', { signal: controller.signal }))) {
      events.push(e);
      if (e.type === 'delta') controller.abort();
    }
    assert.equal((events.at(-1) as ErrorEvent).code, 'cancelled');
    const rec = await aborted;
    assert.equal(rec.aborted, true);
    assert.equal(coordinator.registry.breaker('slow').state, 'closed');
    assert.equal(coordinator.registry.get('slow')?.inFlight, 0);
  });

  it('tests every node in parallel through the real chat path', async () => {
    await setup([{ name: 'ok', tier: 0 }, { name: 'hung', tier: 1 }, { name: 'hung2', tier: 1 }, { name: 'broken', tier: 2 }], { timeouts: { connect: 1, stall: 30 } });
    await cluster.node('hung').setFault({ type: 'hang' });
    await cluster.node('hung2').setFault({ type: 'hang' });
    await cluster.node('broken').setFault({ type: 'status', status: 500 });
    const asked = (name: string) => cluster.node(name).requests.some((r) => r.path === '/api/chat');
    const testing = coordinator.testNodes({ timeoutMs: 4000 });
    // Parallel: both hung nodes are asked long before the first one's 4 s timeout; tested one
    // after another, the second would be asked only after it.
    const deadline = Date.now() + 3000;
    while (!(asked('hung') && asked('hung2')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(asked('hung') && asked('hung2'), 'the hung nodes were tested one after the other');
    const results = await testing;
    const byName = Object.fromEntries(results.map((r) => [r.node, r]));
    assert.equal(byName.ok?.ok, true);
    assert.equal(byName.hung?.ok, false);
    assert.equal(byName.broken?.ok, false);
    assert.equal(byName.hung2?.ok, false);
    assert.match(byName.broken?.detail ?? '', /500/);
  });

  it('reconciles nodes on config change without losing the state of unchanged nodes', async () => {
    await setup([{ name: 'a', tier: 0 }, { name: 'b', tier: 1 }]);
    const latency = coordinator.registry.get('a')?.latencyMs;
    assert.ok(latency !== undefined);
    const next = structuredClone(cluster.config);
    next.cluster.nodes = next.cluster.nodes.filter((n) => n.name === 'a');
    coordinator.applyConfig(next);
    assert.deepEqual(coordinator.nodes().map((n) => n.name), ['a']);
    assert.equal(coordinator.registry.get('a')?.latencyMs, latency);
  });

  it('applies new breaker settings from a reloaded config to nodes whose breaker is closed', async () => {
    await setup([{ name: 'flaky', tier: 1 }, { name: 'steady', tier: 1 }]);
    const next = structuredClone(cluster.config);
    next.cluster.circuit_breaker.failure_threshold = 1;
    coordinator.applyConfig(next);
    await cluster.node('flaky').setFault({ type: 'status', status: 500 });
    await collect(coordinator.complete(ask('explain closures', { tier: 1, stickyNode: 'flaky' })));
    assert.equal(coordinator.registry.breaker('flaky').state, 'open', 'one failure opens it under the new threshold');
  });
});
