import { strict as assert } from 'node:assert';
import { OpenAI } from 'openai';
import { FakeOpenAI } from '../../fakes/fakeOpenAI';
import { countPromptTokens, fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';

const MODEL = 'qwen2.5-coder-7b-instruct';
const messages = [{ role: 'user' as const, content: 'Write a haiku' }];
const tools = [
  {
    type: 'function' as const,
    function: { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } },
  },
];

describe('FakeOpenAI with the official openai client', () => {
  let fake: FakeOpenAI;
  let openai: OpenAI;

  beforeEach(async () => {
    fake = await FakeOpenAI.start({ models: [MODEL] });
    openai = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
  });

  afterEach(() => fake.stop());

  it('streams a completion, with usage only when asked for', async () => {
    const collect = async (includeUsage: boolean) => {
      const stream = await openai.chat.completions.create({
        model: MODEL,
        messages,
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      let text = '';
      let usage;
      let finish;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      return { text, usage, finish };
    };
    const withUsage = await collect(true);
    assert.equal(withUsage.text, fakeReply(undefined, messages, MODEL));
    assert.equal(withUsage.finish, 'stop');
    assert.equal(withUsage.usage?.prompt_tokens, countPromptTokens(messages));
    assert.equal((await collect(false)).usage, undefined);
  });

  it("streams tool calls in fragments that the SDK's accumulator reassembles, two calls by index", async () => {
    fake.setOptions({
      toolCalls: [
        { id: 'call_a', name: 'read_file', arguments: { path: 'a.ts' } },
        { id: 'call_b', name: 'read_file', arguments: { path: 'b.ts' } },
      ],
    });
    const final = await openai.chat.completions.stream({ model: MODEL, messages, tools }).finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    assert.deepEqual(
      calls.map((c) => (c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : [])),
      [
        ['call_a', 'read_file', { path: 'a.ts' }],
        ['call_b', 'read_file', { path: 'b.ts' }],
      ],
    );
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
  });

  it('answers non-streaming, with tool calls too', async () => {
    const res = await openai.chat.completions.create({ model: 'any-model-name', messages });
    assert.equal(res.choices[0]?.message.content, fakeReply(undefined, messages, 'any-model-name'));
    assert.equal(res.usage?.total_tokens, (res.usage?.prompt_tokens ?? 0) + (res.usage?.completion_tokens ?? 0));
    fake.setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: 'x' } }] });
    const withTools = await openai.chat.completions.create({ model: MODEL, messages, tools });
    const call = withTools.choices[0]?.message.tool_calls?.[0];
    assert.ok(call?.type === 'function');
    assert.deepEqual(JSON.parse(call.function.arguments), { path: 'x' });
  });

  it('lists its models', async () => {
    const ids = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    assert.deepEqual(ids, [MODEL]);
  });

  it('requires the API key when a token is set', async () => {
    fake.setOptions({ token: testTokens.apiKey });
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages }), (err: Error & { status?: number }) => err.status === 401);
    const authed = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: testTokens.apiKey, maxRetries: 0 });
    assert.ok((await authed.chat.completions.create({ model: MODEL, messages })).choices[0]?.message.content);
  });

  it('has no Ollama routes', async () => {
    const res = await fetch(`${fake.url}/api/chat`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 404);
  });

  it('rejects unknown models when told to, like vLLM', async () => {
    fake.setOptions({ acceptAnyModel: false });
    await assert.rejects(openai.chat.completions.create({ model: 'other', messages }), (err: Error & { status?: number }) => err.status === 404);
  });
});

describe('FakeOpenAI wire format', () => {
  let fake: FakeOpenAI;
  afterEach(() => fake.stop());

  it('is SSE exactly: data: lines, blank-line separated, chunk objects, [DONE] last', async () => {
    fake = await FakeOpenAI.start({ reply: 'Hi there', toolCalls: [{ id: 'c1', name: 'f', arguments: { a: 1 } }] });
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const raw = await res.text();
    assert.ok(raw.endsWith('\n\ndata: [DONE]\n\n'));
    const events = raw.split('\n\n').filter(Boolean);
    for (const e of events) assert.match(e, /^data: /);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.id, chunks[0].id);
      assert.equal(typeof c.created, 'number');
      assert.equal(c.model, 'm');
      assert.equal(c.choices[0].index, 0);
    }
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), 'Hi there');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    assert.equal(chunks.at(-2).choices[0].finish_reason, null);
  });

  it('splits tool call arguments across chunks, keyed by index', async () => {
    fake = await FakeOpenAI.start({ toolCalls: [{ id: 'c1', name: 'f', arguments: { path: 'some/longer/path.txt' } }] });
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', stream: true, tools: [{ type: 'function', function: { name: 'f' } }], messages: [{ role: 'user', content: 'x' }] }),
    });
    const chunks = (await res.text())
      .split('\n\n')
      .filter((e) => e && e !== 'data: [DONE]')
      .map((e) => JSON.parse(e.slice(6)));
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    assert.ok(fragments.length >= 3);
    assert.deepEqual(fragments[0], { index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } });
    for (const f of fragments.slice(1)) assert.deepEqual(Object.keys(f), ['index', 'function']);
    assert.equal(fragments.map((f) => f.function.arguments).join(''), '{"path":"some/longer/path.txt"}');
  });
});

describe('FakeOpenAI faults as the official openai client sees them', () => {
  let fake: FakeOpenAI;
  let openai: OpenAI;
  const reply = 'one two three four five';

  beforeEach(async () => {
    fake = await FakeOpenAI.start({ models: [MODEL], reply });
    // logLevel off: the SDK logs every event it cannot parse before it throws.
    openai = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0, logLevel: 'off' });
  });

  afterEach(() => fake.stop());

  /** Streams with the SDK; returns the text it saw before it ended or threw. */
  const streamText = async (): Promise<{ text: string; error?: unknown }> => {
    let text = '';
    try {
      const stream = await openai.chat.completions.create({ model: MODEL, messages, stream: true });
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return { text };
    } catch (error) {
      return { text, error };
    }
  };

  const rawStream = async (): Promise<string> => {
    const res = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, stream: true, messages }),
    });
    return res.text();
  };

  it('garbage: SSE events whose data is not JSON make the client throw', async () => {
    await fake.setFault({ type: 'garbage' });
    assert.match(await rawStream(), /^data: this is not json\n\n/);
    const r = await streamText();
    assert.ok(r.error instanceof SyntaxError, `expected a JSON SyntaxError, got ${String(r.error)}`);
    assert.equal(r.text, '');
  });

  it('die_mid_stream: the socket dies after N events, the client throws with the text so far', async () => {
    await fake.setFault({ type: 'die_mid_stream', afterChunks: 3 });
    const r = await streamText();
    assert.ok(r.error, 'the client should throw');
    // Event 1 is the role-only delta, so 3 events carry the first 2 tokens.
    assert.equal(r.text, 'one two');
  });

  it('no_final: everything but data: [DONE], which the client does not notice', async () => {
    await fake.setFault({ type: 'no_final' });
    const raw = await rawStream();
    assert.ok(!raw.includes('[DONE]'));
    assert.ok(raw.endsWith('"finish_reason":"stop"}]}\n\n'));
    // The SDK ends quietly at EOF: only a client that insists on [DONE] (the gateway's) can tell.
    const r = await streamText();
    assert.equal(r.error, undefined);
    assert.equal(r.text, reply);
  });

  it('error_mid_stream: an in-band error event, then [DONE], vLLM-style; the client throws an APIError', async () => {
    await fake.setFault({ type: 'error_mid_stream', afterChunks: 2, message: 'CUDA out of memory' });
    const events = (await rawStream()).split('\n\n').filter(Boolean);
    assert.equal(events.length, 4);
    assert.deepEqual(JSON.parse(events[2]!.slice(6)), { error: { message: 'CUDA out of memory', type: 'server_error', param: null, code: 500 } });
    assert.equal(events[3], 'data: [DONE]');
    const r = await streamText();
    assert.ok(r.error instanceof OpenAI.APIError, `expected an APIError, got ${String(r.error)}`);
    assert.match(r.error.message, /CUDA out of memory/);
    assert.equal(r.text, 'one');
    // Not streamed: the headers are not out yet, so it is a plain 500.
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages }), (err: Error & { status?: number }) => err.status === 500 && /CUDA out of memory/.test(err.message));
  });
});
