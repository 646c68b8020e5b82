import { strict as assert } from 'node:assert';
import type { ChatEvent, DoneEvent, FallbackEvent } from '../../../src/core/chatEvent';
import { Conversation } from '../../../src/core/conversation';
import { Coordinator } from '../../../src/core/coordinator';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import type { FakeOllama } from '../../fakes/fakeOllama';
import { ANSWER, REASONING, reasoning } from '../../fakes/reasoningSample';

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}
const joined = (events: ChatEvent[], type: 'delta' | 'thinking') =>
  events
    .filter((e) => e.type === type)
    .map((e) => (e as { text: string }).text)
    .join('');
const thinkSent = (node: FakeOllama) => node.requests.filter((r) => r.path === '/api/chat').map((r) => (r.body as { think?: unknown }).think);

describe('Coordinator with reasoning models', function () {
  this.timeout(20_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;
  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
  });

  async function setup(specs: Parameters<typeof startFakeCluster>[0], cluster_: Parameters<typeof startFakeCluster>[1] = {}) {
    cluster = await startFakeCluster(specs, { timeouts: { connect: 1, stall: 2 }, health: { timeout: 0.5, interval: 60 }, ...cluster_ });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
  }

  for (const where of ['content', 'field'] as const) {
    it(`streams reasoning (${where}) as thinking events before the answer, keeps it out of the history, times it apart from the first token`, async () => {
      await setup([{ name: 'r', tier: 2, model: 'qwen3:32b', options: { reply: ANSWER, reasoning: reasoning(where) } }]);
      const conversation = new Conversation();
      const events = await collect(coordinator.chat({ conversation, prompt: 'Make total() shorter', tier: 2 }));
      assert.equal(joined(events, 'delta'), ANSWER);
      assert.ok(joined(events, 'thinking').includes(REASONING));
      const types = events.map((e) => e.type);
      assert.ok(types.lastIndexOf('thinking') < types.indexOf('delta'));
      assert.equal(conversation.messages.at(-1)?.content, ANSWER, 'the history keeps the answer only');
      const done = events.at(-1) as DoneEvent;
      assert.equal(done.type, 'done');
      assert.ok(done.timing.thinkingMs !== undefined && done.timing.thinkingMs >= 0);
      const m = coordinator.metrics.snapshot().nodes.r;
      assert.equal(m?.reasonedRequests, 1);
      assert.ok(m?.thinkingP50Ms !== undefined);
    });
  }

  it('an answer without reasoning has no reasoning time', async () => {
    await setup([{ name: 'plain', tier: 2 }]);
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier: 2 }));
    assert.equal((events.at(-1) as DoneEvent).timing.thinkingMs, undefined);
    assert.equal(coordinator.metrics.snapshot().nodes.plain?.reasonedRequests, 0);
  });

  it('think: tier 0 off by default, other tiers leave the model its default, a node’s own setting wins', async () => {
    await setup([
      { name: 'quick', tier: 0, model: 'qwen3:4b', options: { reasoning: reasoning('field') } },
      { name: 'mid', tier: 1, model: 'qwen3:14b', options: { reasoning: reasoning('field') } },
      { name: 'big', tier: 2, model: 'qwen3:32b', options: { reasoning: reasoning('field') } },
    ]);
    const ask = async (tier: 0 | 1 | 2) => collect(coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier }));
    const quick = await ask(0);
    assert.equal(joined(quick, 'thinking'), '', 'tier 0 did not reason');
    await ask(1);
    await ask(2);
    assert.deepEqual(thinkSent(cluster.ollama('quick')), [false]);
    assert.deepEqual(thinkSent(cluster.ollama('mid')), [undefined]);
    assert.deepEqual(thinkSent(cluster.ollama('big')), [undefined]);
    const config = structuredClone(cluster.config);
    for (const n of config.cluster.nodes) if (n.name === 'quick') n.think = 'on';
    config.cluster.think.tier_2 = 'off';
    coordinator.applyConfig(config);
    await ask(0);
    await ask(2);
    assert.deepEqual(thinkSent(cluster.ollama('quick')), [false, true]);
    assert.deepEqual(thinkSent(cluster.ollama('big')), [undefined, false]);
  });

  it('a node that dies while reasoning is replaced with discardPartial, and the next node reasons from the start', async () => {
    await setup(
      [
        { name: 'dying', tier: 2, model: 'qwen3:32b', options: { reply: ANSWER, reasoning: reasoning('field') } },
        { name: 'standby', tier: 1, model: 'qwen3:32b', options: { reply: ANSWER, reasoning: reasoning('field') } },
      ],
      { routing: { load_balance: false } },
    );
    await cluster.node('dying').setFault({ type: 'die_mid_stream', afterChunks: 4 });
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: 'Make total() shorter' }], tier: 2 }));
    const i = events.findIndex((e) => e.type === 'fallback');
    const fallback = events[i] as FallbackEvent;
    assert.equal(fallback.from, 'dying');
    assert.equal(fallback.discardPartial, true, 'the reasoning shown so far must be dropped');
    assert.ok(joined(events.slice(0, i), 'thinking').length > 0, 'the first node had started reasoning');
    assert.equal(joined(events.slice(0, i), 'delta'), '');
    assert.equal(joined(events.slice(i), 'thinking'), REASONING, 'the standby reasons from the start');
    assert.equal(joined(events.slice(i), 'delta'), ANSWER);
  });

  it('several seconds of reasoning in its own field are not a stall (each piece keeps the node alive)', async () => {
    await setup([{ name: 'slow', tier: 2, model: 'qwen3:32b', options: { reply: 'ok', reasoning: reasoning('field'), chunkDelayMs: 30 } }], {
      timeouts: { connect: 1, stall: 1 },
    });
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier: 2 }));
    assert.equal(events.filter((e) => e.type === 'fallback' || e.type === 'error').length, 0);
    const done = events.at(-1) as DoneEvent;
    assert.equal(done.type, 'done');
    assert.ok((done.timing.thinkingMs ?? 0) > 1000, `reasoned ${done.timing.thinkingMs} ms, longer than the stall timeout`);
    assert.ok(done.timing.ttftMs >= (done.timing.thinkingMs ?? 0), 'time to first token counts the answer, after the reasoning');
    // The OpenAI-compatible form reports no generation time: tokens/s counts from the first reasoning token.
    coordinator.dispose();
    await cluster.stop();
    await setup([{ name: 'vllm', tier: 2, flavour: 'openai', model: 'qwen3:32b', options: { reply: 'ok', reasoning: reasoning('field'), chunkDelayMs: 30 } }]);
    const viaOpenAI = await collect(coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier: 2 }));
    const last = viaOpenAI.at(-1) as DoneEvent;
    const completion = last.tokens.completion ?? 0;
    assert.ok(completion > 10);
    assert.ok((last.tokens.perSecond ?? Infinity) <= (completion * 1000) / (last.timing.thinkingMs ?? 1), `${last.tokens.perSecond} tok/s counts the reasoning time`);
  });
});
