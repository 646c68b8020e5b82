import { strict as assert } from 'node:assert';
import OpenAI from 'openai';
import type { FakeOpenAI } from '../../fakes/fakeOpenAI';
import { fakeReply } from '../../fakes/fakeReply';
import type { RecordedRequest } from '../../fakes/fakeServer';
import { testTokens } from '../../security/testTokens';
import { startGateway, type GatewayHarness } from './gatewayHarness';

const prompt = 'relay me please';
const answerOf = (model: string) => fakeReply(undefined, [{ role: 'user', content: prompt }], model);
const tools = [{ type: 'function' as const, function: { name: 'read_file', description: 'read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } }];
/** Options Harombe does not model: before the relay, the gateway dropped every one of them. */
const extras = {
  max_tokens: 256,
  max_completion_tokens: 256,
  stop: ['\n\nUser:'],
  top_p: 0.9,
  seed: 42,
  presence_penalty: 0.1,
  frequency_penalty: 0.2,
  response_format: { type: 'text' as const },
  user: 'relay-test',
};

/** Completion and call ids and creation times differ from one request to the next; nothing else may. */
const unstamped = (sse: string) =>
  sse
    .replace(/"id":"(chatcmpl|call)-?_?[0-9a-f]+"/g, '"id":"X"')
    .replace(/"created":\d+/g, '"created":0');

const chatRequests = (requests: RecordedRequest[], path = '/v1/chat/completions') => requests.filter((r) => r.path === path);

interface SseChunk {
  id?: string;
  object?: string;
  model?: string;
  error?: unknown;
  usage?: unknown;
  choices?: { delta?: { role?: string; content?: string | null }; finish_reason?: string | null }[];
}

/** A raw SSE body as a client receives it, checked to be one well-formed completion stream. */
function parseStream(body: string): { chunks: SseChunk[]; text: string; ids: Set<string>; roles: number; finishes: number; usages: number } {
  assert.ok(body.endsWith('data: [DONE]\n\n'), `ends with [DONE]: ${JSON.stringify(body.slice(-60))}`);
  const events = body.split('\n\n').filter((e) => e !== '');
  assert.equal(events.filter((e) => e === 'data: [DONE]').length, 1, 'one [DONE]');
  const chunks = events.slice(0, -1).map((e) => {
    assert.ok(e.startsWith('data: '), `a data event: ${e.slice(0, 60)}`);
    return JSON.parse(e.slice(6)) as SseChunk;
  });
  const out = { chunks, text: '', ids: new Set<string>(), roles: 0, finishes: 0, usages: 0 };
  for (const c of chunks) {
    assert.equal(c.error, undefined, 'no error event');
    assert.equal(c.object, 'chat.completion.chunk');
    out.ids.add(String(c.id));
    if (c.usage) out.usages++;
    const choice = c.choices?.[0];
    if (!choice) continue;
    if (choice.delta?.role) out.roles++;
    out.text += choice.delta?.content ?? '';
    if (choice.finish_reason) out.finishes++;
  }
  return out;
}

describe('gateway: OpenAI requests relayed to nodes that speak the API (official openai client)', function () {
  this.timeout(20_000);
  let h: GatewayHarness;
  let openai: OpenAI;

  afterEach(async () => {
    await h?.stop();
  });

  describe('a healthy cluster', () => {
    beforeEach(async () => {
      h = await startGateway([
        { name: 'laptop', tier: 0 },
        { name: 'workstation', tier: 1, flavour: 'openai' },
        { name: 'legacy', tier: 2, flavour: 'python' },
      ]);
      openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    });

    it("streams the node's own events byte for byte to an OpenAI-compatible node; an Ollama node is asked through /api/chat with its window", async () => {
      for (const [tier, name, model] of [[1, 'workstation', 'qwen2.5:14b']] as const) {
        const body = { model: `harombe:tier${tier}`, messages: [{ role: 'user', content: prompt }], stream: true, stream_options: { include_usage: true } };
        const viaGateway = await (await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(body) })).text();
        const direct = await (await fetch(`${h.cluster.node(name).url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ ...body, model }) })).text();
        assert.equal(unstamped(viaGateway), unstamped(direct), name);
        const stream = parseStream(viaGateway);
        assert.equal(stream.text, answerOf(model));
        assert.equal(stream.ids.size, 1);
        assert.equal(stream.usages, 1);
        assert.ok(stream.chunks.every((c) => c.model === model), 'the chunks name the model that answered, as the node sent them');
      }
      // Ollama's /v1 ignores num_ctx and truncate (openai/openai.go): it would run the prompt in its
      // default window and cut it silently, so an Ollama node gets the native API.
      const body = { model: 'harombe:tier0', messages: [{ role: 'user', content: prompt }], stream: true, stream_options: { include_usage: true } };
      const stream = parseStream(await (await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(body) })).text());
      assert.equal(stream.text, answerOf('qwen2.5:3b'));
      assert.equal(stream.ids.size, 1);
      assert.equal(stream.usages, 1);
      assert.equal(chatRequests(h.cluster.node('laptop').requests).length, 0, 'nothing went through /v1');
      const sent = chatRequests(h.cluster.node('laptop').requests, '/api/chat').at(-1)?.body as { options?: { num_ctx?: number }; truncate?: unknown };
      assert.equal(sent.options?.num_ctx, h.coordinator.nodes().find((n) => n.name === 'laptop')?.contextWindow.tokens);
      assert.equal(sent.truncate, false);
    });

    it('streams through the official client: one role, one finish_reason, usage only when asked', async () => {
      for (const include_usage of [true, false]) {
        let text = '';
        let roles = 0;
        let finishes = 0;
        let usages = 0;
        const stream = await openai.chat.completions.create({
          model: 'harombe:tier1',
          messages: [{ role: 'user', content: prompt }],
          stream: true,
          ...(include_usage && { stream_options: { include_usage } }),
        });
        for await (const chunk of stream) {
          if (chunk.usage) usages++;
          const choice = chunk.choices[0];
          if (!choice) continue;
          if (choice.delta.role) roles++;
          text += choice.delta.content ?? '';
          if (choice.finish_reason) finishes++;
        }
        assert.equal(text, answerOf('qwen2.5:14b'));
        assert.equal(roles, 1);
        assert.equal(finishes, 1);
        assert.equal(usages, include_usage ? 1 : 0);
        const sent = chatRequests(h.cluster.node('workstation').requests).at(-1);
        assert.deepEqual((sent?.body as { stream_options?: unknown }).stream_options, { include_usage: true }, 'the node is always asked for the counts');
      }
    });

    it('passes the options Harombe does not model to the node, streamed and whole, only model and stream replaced', async () => {
      for (const stream of [true, false]) {
        const messages = [{ role: 'user' as const, content: prompt }];
        const res = await openai.chat.completions.create({ model: 'harombe:tier1', messages, ...extras, stream, tools, tool_choice: 'none' } as OpenAI.ChatCompletionCreateParams);
        if (stream) for await (const _ of res as AsyncIterable<unknown>) void _;
        const sent = chatRequests(h.cluster.node('workstation').requests).at(-1);
        assert.deepEqual(sent?.body, { model: 'qwen2.5:14b', messages, ...extras, tools, tool_choice: 'none', stream: true, stream_options: { include_usage: true } });
      }
      // An Ollama node is asked through /api/chat (its /v1 ignores num_ctx): the answer is re-encoded.
      const res = await openai.chat.completions.create({ model: 'harombe:tier0', messages: [{ role: 'user', content: prompt }], ...extras });
      assert.equal(res.choices[0]?.message.content, answerOf('qwen2.5:3b'));
      assert.equal(chatRequests(h.cluster.node('laptop').requests).length, 0, 'nothing went through /v1');
      assert.equal(chatRequests(h.cluster.node('laptop').requests, '/api/chat').length, 1);
    });

    it('builds a whole chat.completion from a relayed stream, with the usage the node reported', async () => {
      const { data, response } = await openai.chat.completions.create({ model: 'harombe:tier1', messages: [{ role: 'user', content: prompt }] }).withResponse();
      assert.equal(data.object, 'chat.completion');
      assert.equal(data.model, 'harombe:tier1');
      assert.equal(data.choices.length, 1);
      assert.equal(data.choices[0]?.message.content, answerOf('qwen2.5:14b'));
      assert.equal(data.choices[0]?.finish_reason, 'stop');
      assert.equal(response.headers.get('x-harombe-node'), 'workstation');
      // What the node itself reports for the same question, asked for one JSON.
      const direct = (await (
        await fetch(`${h.cluster.node('workstation').url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'qwen2.5:14b', messages: [{ role: 'user', content: prompt }] }) })
      ).json()) as { usage: unknown };
      assert.deepEqual(data.usage, direct.usage);
    });

    it('passes tool calls through from a node that streams them in fragments, streamed and whole', async () => {
      const fake = h.cluster.node('workstation') as FakeOpenAI;
      fake.setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }] });
      const messages = [{ role: 'user' as const, content: 'open a.ts' }];

      const whole = await openai.chat.completions.create({ model: 'harombe:tier1', messages, tools });
      const call = whole.choices[0]?.message.tool_calls?.[0];
      assert.equal(whole.choices[0]?.finish_reason, 'tool_calls');
      assert.ok(call && call.type === 'function');
      assert.equal(call.function.name, 'read_file');
      assert.deepEqual(JSON.parse(call.function.arguments), { path: 'a.ts' });
      assert.ok(whole.usage && whole.usage.completion_tokens > 0);

      const runner = openai.chat.completions.stream({ model: 'harombe:tier1', messages, tools });
      const final = await runner.finalChatCompletion();
      const streamed = final.choices[0]?.message.tool_calls?.[0];
      assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
      assert.ok(streamed && streamed.type === 'function');
      assert.equal(streamed.function.name, 'read_file');
      assert.deepEqual(JSON.parse(streamed.function.arguments), { path: 'a.ts' });
      assert.match(streamed.id, /^call_/);
    });

    it('re-encodes for a node that cannot relay (a Harombe 0.3.1 worker)', async () => {
      const res = await openai.chat.completions.create({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }], stream: true });
      let text = '';
      for await (const chunk of res) text += chunk.choices[0]?.delta.content ?? '';
      assert.equal(text, answerOf('qwen2.5:72b'));
      assert.equal(h.cluster.node('legacy').requests.filter((r) => r.path === '/api/complete').length, 1);
    });
  });

  describe('failover', () => {
    // The dying node is the only tier 2 node; the standby (tier 1, an Ollama) takes over.
    async function setup(dyingFlavour: 'openai' | 'ollama', afterChunks: number) {
      h = await startGateway(
        [
          { name: 'dying', tier: 2, model: 'qwen2.5:32b', flavour: dyingFlavour, options: { chunkDelayMs: 2 } },
          { name: 'standby', tier: 1, model: 'qwen2.5:32b', options: { chunkDelayMs: 2 } },
        ],
        { routing: { load_balance: false }, circuit_breaker: { failure_threshold: 1000, timeout: 0.3, half_open_timeout: 2 } },
      );
      await h.cluster.node('dying').setFault({ type: 'die_mid_stream', afterChunks });
      openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    }

    it('a node dying mid-stream: the client gets one complete, well-formed completion, the rest re-encoded from the other node', async () => {
      await setup('openai', 4);
      const body = { model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }], stream: true, stream_options: { include_usage: true } };
      const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(body) });
      assert.equal(res.headers.get('x-harombe-node'), 'dying', 'the headers went out with the first relayed token');
      const stream = parseStream(await res.text());
      assert.equal(stream.text, answerOf('qwen2.5:32b'), 'no token missing, none repeated');
      assert.equal(stream.ids.size, 1, 'one completion id: the re-encoded rest continues the relayed stream');
      assert.equal(stream.roles, 1);
      assert.equal(stream.finishes, 1);
      assert.equal(stream.usages, 1);
      assert.equal(chatRequests(h.cluster.node('dying').requests).length, 1);
      assert.equal(chatRequests(h.cluster.node('standby').requests, '/api/chat').length, 1, 'the standby was asked through its own client');
      assert.equal(chatRequests(h.cluster.node('standby').requests).length, 0);
      assert.equal(h.coordinator.metrics.snapshot().fallbacks, 1);
    });

    it('the same through the official client, from an Ollama node, with a tool result the standby gets by name', async () => {
      await setup('ollama', 4);
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: 'user', content: prompt },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'export {}' },
      ];
      let text = '';
      let finishes = 0;
      const ids = new Set<string>();
      for await (const chunk of await openai.chat.completions.create({ model: 'harombe:tier2', messages, tools, stream: true })) {
        ids.add(chunk.id);
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.choices[0]?.finish_reason) finishes++;
      }
      assert.equal(finishes, 1);
      assert.equal(ids.size, 1);
      assert.equal(text, answerOf('qwen2.5:32b'));
      // Both Ollama nodes were asked through /api/chat, where a tool result names its tool.
      assert.equal(chatRequests(h.cluster.node('dying').requests).length, 0);
      const first = (chatRequests(h.cluster.node('dying').requests, '/api/chat').at(-1)?.body as { messages: { tool_name?: string }[] }).messages.at(-1);
      assert.equal(first?.tool_name, 'read_file');
      const reencoded = (chatRequests(h.cluster.node('standby').requests, '/api/chat').at(-1)?.body as { messages: { role: string; tool_name?: string }[] }).messages.at(-1);
      assert.equal(reencoded?.role, 'tool');
      assert.equal(reencoded?.tool_name, 'read_file');
    });

    it('a node dying before its first token has shown nothing: the next node takes its place (an Ollama standby through /api/chat)', async () => {
      await setup('openai', 1);
      const body = { model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }], stream: true };
      const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(body) });
      assert.equal(res.headers.get('x-harombe-node'), 'standby');
      const stream = parseStream(await res.text());
      assert.equal(stream.text, answerOf('qwen2.5:32b'));
      assert.equal(stream.ids.size, 1);
      assert.equal(stream.roles, 1, "the dead node's role-only event was never handed on");
      assert.equal(stream.usages, 0);
      assert.equal(chatRequests(h.cluster.node('standby').requests).length, 0, 'not through /v1, which ignores num_ctx');
      assert.equal(chatRequests(h.cluster.node('standby').requests, '/api/chat').length, 1);
    });

    it('a whole answer drops the dead node\'s partial answer', async () => {
      await setup('openai', 4);
      const res = await openai.chat.completions.create({ model: 'harombe:tier2', messages: [{ role: 'user', content: prompt }] });
      assert.equal(res.choices[0]?.message.content, answerOf('qwen2.5:32b'));
      assert.ok(res.usage && res.usage.completion_tokens > 0);
    });
  });
});
