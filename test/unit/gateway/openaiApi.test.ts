import { strict as assert } from 'node:assert';
import OpenAI from 'openai';
import { fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';
import { startGateway, type GatewayHarness } from './gatewayHarness';

const expected = (model: string, prompt: string) => fakeReply(undefined, [{ role: 'user', content: prompt }], model);
const tools = [{ type: 'function' as const, function: { name: 'read_file', description: 'read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } }];

describe('gateway: OpenAI API with the official openai client', function () {
  this.timeout(20_000);
  let h: GatewayHarness;
  let openai: OpenAI;

  beforeEach(async () => {
    h = await startGateway([
      { name: 'laptop', tier: 0 },
      { name: 'workstation', tier: 1, flavour: 'openai' },
      { name: 'server', tier: 2 },
    ]);
    openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
  });
  afterEach(async () => {
    await h?.stop();
  });

  it('answers a whole chat completion with usage and the X-Harombe headers', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'harombe:tier2', messages: [{ role: 'user', content: 'hi there' }] })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0]?.message.content, expected('qwen2.5:72b', 'hi there'));
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.ok((data.usage?.completion_tokens ?? 0) > 0);
    assert.equal(response.headers.get('x-harombe-node'), 'server');
    assert.equal(response.headers.get('x-harombe-tier'), '2');
  });

  it('streams SSE chunks ending in one finish_reason and [DONE], with usage when asked', async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({
        model: 'harombe:tier1',
        messages: [{ role: 'user', content: 'stream me' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(response.headers.get('cache-control'), 'no-cache');
    let text = '';
    let finishes = 0;
    let usage = 0;
    let roles = 0;
    for await (const chunk of stream) {
      if (chunk.usage) usage++;
      const choice = chunk.choices[0];
      if (!choice) continue;
      if (choice.delta.role) roles++;
      text += choice.delta.content ?? '';
      if (choice.finish_reason) {
        finishes++;
        assert.equal(choice.finish_reason, 'stop');
      }
    }
    assert.equal(text, expected('qwen2.5:14b', 'stream me'));
    assert.equal(finishes, 1);
    assert.equal(roles, 1);
    assert.equal(usage, 1);
  });

  it('passes tool calls through, streamed and whole', async () => {
    for (const name of ['laptop', 'server']) h.cluster.ollama(name).setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }] });
    const whole = await openai.chat.completions.create({ model: 'harombe:tier0', messages: [{ role: 'user', content: 'open a.ts' }], tools });
    const call = whole.choices[0]?.message.tool_calls?.[0];
    assert.equal(whole.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'read_file');
    assert.deepEqual(JSON.parse(call.function.arguments), { path: 'a.ts' });

    const stream = await openai.chat.completions.create({ model: 'harombe:tier2', messages: [{ role: 'user', content: 'open a.ts' }], tools, stream: true });
    const names: string[] = [];
    let args = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const c of chunk.choices[0]?.delta.tool_calls ?? []) {
        if (c.function?.name) names.push(c.function.name);
        args += c.function?.arguments ?? '';
        assert.ok(c.id, 'tool call has an id');
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.deepEqual(names, ['read_file']);
    assert.deepEqual(JSON.parse(args), { path: 'a.ts' });
    assert.equal(finish, 'tool_calls');

    // A tool result refers to the call by id; an Ollama node gets it through its native /api/chat
    // (its /v1 ignores num_ctx), where the result names its tool.
    const answer = await openai.chat.completions.create({
      model: 'harombe:tier2',
      messages: [
        { role: 'user', content: 'open a.ts' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.ts"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'export {}' },
      ],
      tools,
    });
    assert.equal(answer.choices[0]?.finish_reason, 'stop');
    assert.equal(h.cluster.node('server').requests.filter((r) => r.path === '/v1/chat/completions').length, 0);
    const last = h.cluster.node('server').requests.filter((r) => r.path === '/api/chat').at(-1);
    const sent = (last?.body as { messages: { role: string; tool_name?: string }[] }).messages.at(-1);
    assert.equal(sent?.role, 'tool');
    assert.equal(sent?.tool_name, 'read_file');
  });

  it('lists models', async () => {
    const ids: string[] = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    for (const n of ['harombe', 'harombe:auto', 'harombe:tier2', 'qwen2.5:3b', 'qwen2.5:14b', 'qwen2.5:72b']) assert.ok(ids.includes(n), n);
  });

  it('routes a real model name to the node that has it, and 404s an unknown one in OpenAI\'s error shape', async () => {
    const res = await openai.chat.completions.create({ model: 'qwen2.5:3b', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(res.choices[0]?.message.content, expected('qwen2.5:3b', 'x'));
    await assert.rejects(openai.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }), (err: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.match(err.message, /gpt-9/);
      return true;
    });
  });

  it('refuses a bad body with 400 and says what is wrong', async () => {
    await assert.rejects(openai.chat.completions.create({ model: 'harombe', messages: [] }), (err: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /messages/);
      return true;
    });
  });
});
