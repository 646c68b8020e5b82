import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import type { ChatEvent } from '../../../src/core/chatEvent';
import { Coordinator } from '../../../src/core/coordinator';
import { GatewayServer } from '../../../src/core/gateway/gatewayServer';
import { capabilitiesLabel } from '../../../src/core/nodes/capabilities';
import type { ToolDefinition } from '../../../src/core/inference/types';
import type { CompleteRequest } from '../../../src/core/routing/failoverRunner';
import { startFakeCluster, type FakeCluster, type FakeNodeSpec } from '../../fakes/fakeCluster';
import type { RecordedRequest } from '../../fakes/fakeServer';

const readFile: ToolDefinition = { name: 'read_file', description: 'Read a file of the workspace', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } };
const withTools = (prompt: string): CompleteRequest => ({ tier: 0, messages: [{ role: 'user', content: prompt }], tools: [readFile] });
const plain = (prompt: string): CompleteRequest => ({ tier: 0, messages: [{ role: 'user', content: prompt }] });

async function collect(it: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}
const of = <T extends ChatEvent['type']>(events: ChatEvent[], type: T) => events.filter((e) => e.type === type) as Extract<ChatEvent, { type: T }>[];
const chatRequests = (reqs: readonly RecordedRequest[]) => reqs.filter((r) => r.path === '/api/chat' || r.path === '/v1/chat/completions');
const offeredTools = (r: RecordedRequest) => {
  const tools = (r.body as { tools?: unknown[] } | undefined)?.tools;
  return Array.isArray(tools) && tools.length > 0;
};

/** The cluster: gemma2:2b (no tools) at tier 0, qwen2.5:14b (tools) at tier 1. */
const gemmaAndQwen: FakeNodeSpec[] = [
  { name: 'small', tier: 0, model: 'gemma2:2b' },
  { name: 'mid', tier: 1, model: 'qwen2.5:14b' },
];

describe('capabilities: a request goes only to nodes whose model can do what it needs', function () {
  this.timeout(30_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;
  afterEach(async () => {
    coordinator?.dispose();
    await cluster?.stop();
  });

  async function setup(specs: FakeNodeSpec[], breaker: Record<string, unknown> = {}) {
    // The breaker opens after 5 failures, as in Harombe's defaults: the scenario opened it.
    cluster = await startFakeCluster(specs, { timeouts: { connect: 1, stall: 2 }, health: { timeout: 1, interval: 60 }, circuit_breaker: breaker });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
  }

  it("learns each model's capabilities from Ollama's /api/show and shows them", async () => {
    await setup([...gemmaAndQwen, { name: 'embed', tier: 0, model: 'nomic-embed-text' }]);
    const byName = Object.fromEntries(coordinator.nodes().map((n) => [n.name, n]));
    assert.deepEqual(byName.small?.capabilities, { has: ['completion'], lacks: ['tools', 'insert', 'vision', 'thinking', 'embedding'], source: 'reported' });
    assert.deepEqual(byName.mid?.capabilities.has, ['completion', 'tools']);
    assert.equal(capabilitiesLabel(byName.small!), 'no tools');
    assert.equal(capabilitiesLabel(byName.mid!), 'tools');
    assert.equal(capabilitiesLabel(byName.embed!), 'embedding only');
  });

  it("six tool-bearing tier-0 requests are answered by the tier-1 node; gemma's breaker stays closed, gets no tools, and still answers plain requests", async () => {
    await setup(gemmaAndQwen);
    for (let i = 0; i < 6; i++) {
      const events = await collect(coordinator.complete(withTools(`Read src/app.ts and explain it (${i})`)));
      const route = of(events, 'route')[0];
      const done = of(events, 'done')[0];
      assert.equal(done?.node, 'mid', JSON.stringify(events.at(-1)));
      assert.equal(route?.node, 'mid');
      assert.match(route?.nodeReason ?? '', /gemma2:2b on small takes no tools → mid/);
      assert.equal(of(events, 'fallback').length, 0, 'no failed round trip first');
    }
    const small = coordinator.nodes().find((n) => n.name === 'small');
    assert.equal(small?.breaker.state, 'closed');
    assert.equal(small?.state, 'available');
    assert.equal(chatRequests(cluster.node('small').requests).filter(offeredTools).length, 0, 'gemma was never offered tools');
    const hello = await collect(coordinator.complete(plain('hello')));
    assert.equal(of(hello, 'done')[0]?.node, 'small', 'a plain request still uses the tier-0 node');
  });

  it('a server that cannot say (vLLM without tool parsing) is offered tools once, refuses, and is passed over from then on without blame', async () => {
    // One counted failure would open this breaker: a refusal must not be one.
    await setup(
      [
        { name: 'vllm', tier: 0, flavour: 'openai', model: 'google/gemma-2-2b-it', noTools: true },
        { name: 'mid', tier: 1, model: 'qwen2.5:14b' },
      ],
      { failure_threshold: 1 },
    );
    assert.equal(coordinator.nodes().find((n) => n.name === 'vllm')?.capabilities.source, 'unknown');
    const firsts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const events = await collect(coordinator.complete(withTools(`Read the file (${i})`)));
      assert.equal(of(events, 'done')[0]?.node, 'mid');
      firsts.push(of(events, 'route')[0]?.node ?? '');
    }
    // Only the first went to vLLM (and moved at once); the other five were routed past it.
    assert.deepEqual(firsts, ['vllm', 'mid', 'mid', 'mid', 'mid', 'mid']);
    assert.equal(chatRequests(cluster.node('vllm').requests).filter(offeredTools).length, 1);
    const vllm = coordinator.nodes().find((n) => n.name === 'vllm');
    assert.equal(vllm?.breaker.state, 'closed');
    assert.deepEqual(vllm?.capabilities.lacks, ['tools']);
    assert.equal(capabilitiesLabel(vllm!), 'no tools (refused)');
    const hello = await collect(coordinator.complete(plain('hello')));
    assert.equal(of(hello, 'done')[0]?.node, 'vllm');
  });

  it('where no node takes tools, the request is answered without them and the route says so', async () => {
    await setup([{ name: 'small', tier: 0, model: 'gemma2:2b' }, { name: 'phi', tier: 1, model: 'phi3:mini' }]);
    const events = await collect(coordinator.complete(withTools('Read src/app.ts')));
    assert.equal(of(events, 'error').length, 0, JSON.stringify(events.at(-1)));
    assert.equal(of(events, 'done')[0]?.node, 'small');
    assert.match(of(events, 'route')[0]?.nodeReason ?? '', /no node takes tools, so this answer comes without them/);
    const sent = chatRequests(cluster.node('small').requests);
    assert.equal(sent.length, 1);
    assert.equal(offeredTools(sent[0]!), false);
  });

  it("the user's capabilities: list wins over the server's", async () => {
    await setup(
      [
        { name: 'small', tier: 0, model: 'gemma2:2b', config: { capabilities: ['completion', 'tools'] } },
        { name: 'mid', tier: 1, model: 'qwen2.5:14b' },
      ],
      { failure_threshold: 1 },
    );
    assert.equal(coordinator.nodes().find((n) => n.name === 'small')?.capabilities.source, 'configured');
    const events = await collect(coordinator.complete(withTools('Read src/app.ts')));
    // Ollama refuses; the refusal is learned and the request moves on without blame.
    assert.equal(of(events, 'route')[0]?.node, 'small');
    assert.equal(of(events, 'done')[0]?.node, 'mid');
    assert.match(of(events, 'fallback')[0]?.reason ?? '', /does not support tools/);
    const small = coordinator.nodes().find((n) => n.name === 'small');
    assert.equal(small?.breaker.state, 'closed');
    assert.deepEqual(small?.capabilities.lacks.includes('tools'), true);
  });

  it('an embedding-only node is never chosen for chat', async () => {
    await setup([{ name: 'embed', tier: 0, model: 'nomic-embed-text' }, { name: 'mid', tier: 1, model: 'qwen2.5:14b' }]);
    for (let i = 0; i < 3; i++) {
      const events = await collect(coordinator.complete(plain(`what is a list? ${i}`)));
      assert.equal(of(events, 'done')[0]?.node, 'mid');
    }
    assert.equal(chatRequests(cluster.node('embed').requests).length, 0);
  });

  describe('through the gateway', () => {
    let gateway: GatewayServer | undefined;
    afterEach(async () => {
      await gateway?.close();
      gateway = undefined;
    });

    it('an Ollama client with tools, and one with images, reach only the models that take them', async () => {
      await setup([...gemmaAndQwen, { name: 'eyes', tier: 2, model: 'llava:7b' }]);
      gateway = new GatewayServer({ coordinator, host: '127.0.0.1', port: 0 });
      const ollama = new Ollama({ host: await gateway.listen() });
      for (let i = 0; i < 6; i++) {
        const res = await ollama.chat({
          model: 'harombe:tier0',
          messages: [{ role: 'user', content: `Read src/app.ts (${i})` }],
          tools: [{ type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string', description: 'path' } }, required: ['path'] } } }],
        });
        assert.ok(res.message.content.length > 0 || (res.message.tool_calls?.length ?? 0) > 0);
      }
      assert.equal(chatRequests(cluster.node('small').requests).length, 0);
      assert.equal(chatRequests(cluster.node('mid').requests).length, 6);
      const small = coordinator.nodes().find((n) => n.name === 'small');
      assert.equal(small?.breaker.state, 'closed');
      const pic = await ollama.chat({ model: 'harombe:tier0', messages: [{ role: 'user', content: 'What is in this picture?', images: ['iVBORw0KGgo='] }] });
      assert.match(pic.message.content, /llava:7b/);
      assert.equal(chatRequests(cluster.node('eyes').requests).length, 1);
      const hello = await ollama.chat({ model: 'harombe:tier0', messages: [{ role: 'user', content: 'hello' }] });
      assert.match(hello.message.content, /gemma2:2b/);
    });
  });
});
