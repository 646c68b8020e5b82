import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChatEvent, DoneEvent, ErrorEvent, FallbackEvent, RouteEvent } from '../../../src/core/chatEvent';
import { Conversation } from '../../../src/core/conversation';
import { Coordinator } from '../../../src/core/coordinator';
import type { ChatMessage } from '../../../src/core/inference/types';
import type { CompleteRequest } from '../../../src/core/routing/failoverRunner';
import { trimHistory } from '../../../src/core/routing/trimHistory';
import { startFakeCluster, type FakeCluster, type FakeNodeSpec } from '../../fakes/fakeCluster';
import type { FakeOllama } from '../../fakes/fakeOllama';
import { exactTokens } from '../../fakes/fakeTokenizer';

async function collect(it: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}
const first = <T extends ChatEvent['type']>(events: ChatEvent[], type: T) => events.find((e) => e.type === type) as Extract<ChatEvent, { type: T }> | undefined;

/** This repository's TypeScript, as much as `tokens` cl100k tokens of it. */
const CODE = (() => {
  const dir = path.join(__dirname, '../../../src/core');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.ts')) files.push(fs.readFileSync(path.join(d, e.name), 'utf8'));
    }
  };
  walk(dir);
  let all = files.join('\n');
  while (all.length < 1_000_000) all += `\n${all}`;
  return all;
})();
function codeOf(tokens: number): string {
  // About 3.3 characters a token for this code; trimmed to the exact count's neighbourhood.
  let text = CODE.slice(0, Math.round(tokens * 3.3));
  const n = exactTokens(text);
  text = CODE.slice(0, Math.round((text.length * tokens) / n));
  return text;
}

const chatBodies = (fake: FakeOllama) => fake.requests.filter((r) => r.path === '/api/chat').map((r) => r.body as Record<string, unknown>);

describe('prompts that fit: windows, routing by fit, no silent truncation', function () {
  this.timeout(60_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;

  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
  });

  async function setup(specs: FakeNodeSpec[], routing: Record<string, unknown> = {}) {
    cluster = await startFakeCluster(specs, { timeouts: { connect: 2, stall: 5 }, health: { timeout: 2, interval: 60 }, routing });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
  }

  /** Windows of 4k (tier 0), 8k (tier 1) and 128k (tier 2); the 128k model is trained for it. */
  const windows = (): FakeNodeSpec[] => [
    { name: 'laptop', tier: 0, contextLength: 4096 },
    { name: 'workstation', tier: 1, contextLength: 8192 },
    { name: 'server', tier: 2, contextLength: 131_072, options: { modelInfo: { 'qwen2.5:72b': { contextLength: 131_072 } } } },
  ];

  it('sends every prompt from 1k to 80k tokens to a node whose window holds it, with that num_ctx and truncate:false; 200k is sent nowhere', async () => {
    await setup(windows(), { fallback_strategy: 'graceful' });
    const expectations: [number, string][] = [
      [1000, 'laptop'],
      [3000, 'workstation'],
      [20_000, 'server'],
      [80_000, 'server'],
    ];
    for (const [size, node] of expectations) {
      const text = codeOf(size);
      // Tier 0 asked for explicitly (graceful): the request moves up only as far as its size needs.
      const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: `Explain:\n${text}` }], tier: 0 }));
      const route = first(events, 'route') as RouteEvent;
      assert.ok(route, JSON.stringify(events.at(-1)));
      assert.equal(route.node, node, `${size} tokens went to ${route.node}: ${route.nodeReason}`);
      const done = events.at(-1) as DoneEvent;
      assert.equal(done.type, 'done', JSON.stringify(events.at(-1)));
      assert.equal(done.truncated, undefined);
      const fake = cluster.ollama(node);
      assert.equal(fake.lastWindow?.overflow, 'fits', `${size}: the fake ${node} had to cut the prompt: ${JSON.stringify(events.filter((e) => e.type !== 'delta'))}`);
      const body = chatBodies(fake).at(-1) as { options?: { num_ctx?: number }; truncate?: unknown };
      assert.equal(body.options?.num_ctx, coordinator.nodes().find((n) => n.name === node)?.contextWindow.tokens);
      assert.equal(body.truncate, false);
      // The estimate never undercounts what the node's tokenizer made of it.
      assert.ok(route.context && route.context.promptTokens >= (done.tokens.prompt ?? Infinity), `${size}: estimated ${route.context?.promptTokens}, the node counted ${done.tokens.prompt}`);
      if (node !== 'laptop') assert.match(route.nodeReason, /^needs ~\d+k tokens; laptop \(tier 0\) holds 4k/);
    }

    const before = ['laptop', 'workstation', 'server'].map((n) => chatBodies(cluster.ollama(n)).length);
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: `Explain:\n${codeOf(200_000)}` }] }));
    const error = events.at(-1) as ErrorEvent;
    assert.equal(error.type, 'error');
    assert.equal(error.code, 'too_large');
    assert.match(error.message, /needs ~\d+k tokens/);
    assert.match(error.message, /largest window in the cluster is 128k tokens on server/);
    assert.match(error.message, /Nothing was sent/);
    assert.deepEqual(['laptop', 'workstation', 'server'].map((n) => chatBodies(cluster.ollama(n)).length), before, 'a request that fits nowhere reached a node');
  });

  it('gives a long prompt to the nearest tier that holds it and says why (auto tier)', async () => {
    await setup([
      { name: 'server', tier: 2, contextLength: 8192 },
      { name: 'workstation', tier: 1, contextLength: 65_536, options: { modelInfo: { 'qwen2.5:14b': { contextLength: 131_072 } } } },
      { name: 'laptop', tier: 0, contextLength: 4096 },
    ]);
    const file = CODE.slice(0, 40_000);
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: `Refactor this file:\n${file}` }], intent: 'refactor' }));
    const route = first(events, 'route') as RouteEvent;
    assert.equal(route.requestedTier, 2);
    assert.equal(route.node, 'workstation');
    assert.match(route.nodeReason, /^needs ~\d+k tokens; server \(tier 2\) holds 8k → workstation \(tier 1, 64k\)$/);
    assert.equal((events.at(-1) as DoneEvent).node, 'workstation');
    assert.equal(chatBodies(cluster.ollama('server')).length, 0);
  });

  it('an explicit tier: strict fails and says why, nothing sent; graceful moves and says so', async () => {
    await setup(
      [
        { name: 'server', tier: 2, contextLength: 8192 },
        { name: 'workstation', tier: 1, contextLength: 65_536, options: { modelInfo: { 'qwen2.5:14b': { contextLength: 131_072 } } } },
      ],
      { fallback_strategy: 'strict' },
    );
    const messages: ChatMessage[] = [{ role: 'user', content: `Refactor:\n${codeOf(12_000)}` }];
    const strict = await collect(coordinator.complete({ messages, tier: 2 }));
    const error = strict.at(-1) as ErrorEvent;
    assert.equal(error.code, 'too_large');
    assert.match(error.message, /more than any tier 2 node holds \(the largest is 8k tokens on server \(tier 2\)\) and fallback_strategy is strict/);
    assert.match(error.message, /64k tokens on workstation \(tier 1\) would hold more/);
    assert.equal(chatBodies(cluster.ollama('server')).length + chatBodies(cluster.ollama('workstation')).length, 0);

    coordinator.applyConfig({ ...cluster.config, cluster: { ...cluster.config.cluster, routing: { ...cluster.config.cluster.routing, fallback_strategy: 'graceful' } } });
    await coordinator.prober.sweep();
    const graceful = await collect(coordinator.complete({ messages, tier: 2 }));
    const route = first(graceful, 'route') as RouteEvent;
    assert.equal(route.node, 'workstation');
    assert.ok(route.forced);
    assert.match(route.nodeReason, /server \(tier 2\) holds 8k → workstation \(tier 1, 64k\)/);
  });

  it('suggests a larger context_length where the model holds more than Harombe runs it with', async () => {
    await setup([{ name: 'box', tier: 1, options: { modelInfo: { 'qwen2.5:14b': { contextLength: 131_072 } } } }]);
    // No context_length: Harombe's default window (16k) for an Ollama node.
    assert.deepEqual(coordinator.nodes()[0]?.contextWindow, { tokens: 16_384, max: 131_072, source: 'chosen' });
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: codeOf(30_000) }] }));
    const error = events.at(-1) as ErrorEvent;
    assert.equal(error.code, 'too_large');
    assert.match(error.message, /Set context_length: \d+ on box in harombe\.yaml \(its model holds up to 128k tokens/);
  });

  it('moves a prompt a llama.cpp server refuses (400 exceed_context_size_error) to a larger window, learning the window and the real count', async () => {
    await setup([
      // It cannot say its window (an old build without n_ctx in /v1/models and no /props reading): configured too large.
      { name: 'llama', tier: 1, flavour: 'openai', contextLength: 32_768, openai: { server: 'llamacpp', contextWindow: 4096 } },
      { name: 'big', tier: 2, contextLength: 32_768 },
    ]);
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: codeOf(6000) }], tier: 1 }));
    const fallback = first(events, 'fallback') as FallbackEvent;
    assert.ok(fallback, JSON.stringify(events.map((e) => e.type)));
    assert.equal(fallback.from, 'llama');
    assert.equal(fallback.to, 'big');
    assert.match(fallback.reason, /longer than its context window/);
    assert.equal((events.at(-1) as DoneEvent).node, 'big');
    const llama = coordinator.nodes().find((n) => n.name === 'llama');
    assert.deepEqual(llama?.contextWindow.tokens, 4096);
    assert.equal(llama?.state, 'available', 'a refusal for length is not the node failing');
    // Next time the too-small node is not even tried.
    const again = await collect(coordinator.complete({ messages: [{ role: 'user', content: codeOf(6000) }], tier: 1 }));
    assert.equal((first(again, 'route') as RouteEvent).node, 'big');
    assert.equal(first(again, 'fallback'), undefined);
  });

  it('tells when an old Ollama (< 0.12.6, which ignores truncate:false) cut the prompt anyway', async () => {
    await setup([
      // The model's real maximum is 4k, which the probes could not learn (an old /api/show); Harombe sends 16k and Ollama clamps it.
      { name: 'old', tier: 1, contextLength: 16_384, options: { ollamaVersion: '0.12.5', modelInfo: { 'qwen2.5:14b': { contextLength: 4096 } } } },
    ]);
    // What an /api/show without model_info leaves Harombe with: the configured window.
    (coordinator.registry as unknown as { entries: Map<string, { state: { contextMax?: number } }> }).entries.get('old')!.state.contextMax = undefined;
    const events = await collect(coordinator.complete({ messages: [{ role: 'user', content: codeOf(8000) }] }));
    const done = events.at(-1) as DoneEvent;
    assert.equal(done.type, 'done', JSON.stringify(done));
    assert.equal(cluster.ollama('old').lastWindow?.overflow, 'truncated');
    assert.ok(done.truncated, 'the answer was presented as whole');
    assert.ok(done.truncated.promptTokens < 3000);
  });

  it('a conversation that outgrows every window keeps the system prompt and the current prompt, leaves out the oldest turns, and says so', async () => {
    await setup([{ name: 'small', tier: 0, contextLength: 8192 }]);
    const conversation = new Conversation({ systemPrompt: 'You are terse.' });
    for (let i = 0; i < 12; i++) {
      const events = await collect(coordinator.chat({ conversation, prompt: `Turn ${i}: ${CODE.slice(i * 2000, i * 2000 + 2000)}` }));
      assert.equal(events.at(-1)?.type, 'done', JSON.stringify(events.at(-1)));
    }
    const events = await collect(coordinator.chat({ conversation, prompt: 'What did I send first?' }));
    const route = first(events, 'route') as RouteEvent;
    assert.ok(route.context?.omitted && route.context.omitted.turns > 0, JSON.stringify(route.context));
    const sent = chatBodies(cluster.ollama('small')).at(-1) as { messages: { role: string; content: string }[] };
    assert.equal(sent.messages[0]?.content, 'You are terse.');
    assert.equal(sent.messages.at(-1)?.content, 'What did I send first?');
    assert.ok(!sent.messages.some((m) => m.content.startsWith('Turn 0:')), 'the oldest turn was kept');
    assert.ok(sent.messages.some((m) => /earlier turns? (was|were) left out/.test(m.content)));
    assert.equal(cluster.ollama('small').lastWindow?.overflow, 'fits');
    // The conversation itself keeps everything.
    assert.ok(conversation.messages.some((m) => m.content.startsWith('Turn 0:')));
  });

  it('never cuts the current prompt: a prompt larger than every window is refused with its size', async () => {
    await setup([{ name: 'small', tier: 0, contextLength: 4096 }]);
    const conversation = new Conversation();
    const events = await collect(coordinator.chat({ conversation, prompt: 'Summarise', context: { label: 'big.ts', text: codeOf(10_000) } }));
    const error = events.at(-1) as ErrorEvent;
    assert.equal(error.code, 'too_large');
    assert.match(error.message, /largest window in the cluster is 4k tokens on small/);
    assert.equal(chatBodies(cluster.ollama('small')).length, 0);
  });
});

describe('trimming an agent run', () => {
  it('drops old tool results before turns and keeps every tool call answered', async () => {
    const big = 'x '.repeat(4000);
    const messages: ChatMessage[] = [
      { role: 'system', content: 'agent' },
      { role: 'user', content: 'old question' },
      { role: 'assistant', content: 'old answer' },
      { role: 'user', content: 'fix the bug' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'a', name: 'read', arguments: { path: 'a.ts' } }] },
      { role: 'tool', content: big, tool_call_id: 'a' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'b', name: 'read', arguments: { path: 'b.ts' } }] },
      { role: 'tool', content: 'short', tool_call_id: 'b' },
    ];
    const req: CompleteRequest = { messages };
    const trimmed = trimHistory(req.messages, undefined, 600);
    assert.ok(trimmed.promptTokens <= 600);
    assert.equal(trimmed.omitted.toolResults, 1);
    assert.equal(trimmed.omitted.turns, 0, 'turns went before the tool result');
    assert.equal(trimmed.messages.length, messages.length);
    assert.match(trimmed.messages[5]?.content ?? '', /left out/);
    assert.equal(trimmed.messages[3]?.content, 'fix the bug');
    const tighter = trimHistory(messages, undefined, 150);
    assert.equal(tighter.omitted.turns, 1);
    assert.ok(!tighter.messages.some((m) => m.content === 'old question'));
    assert.ok(tighter.messages.some((m) => m.content === 'fix the bug'));
  });
});
