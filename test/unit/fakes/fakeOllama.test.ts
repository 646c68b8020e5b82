import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import { OpenAI } from 'openai';
import { FakeOllama } from '../../fakes/fakeOllama';
import { countPromptTokens, fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';

const MODEL = 'qwen2.5:7b';
const messages = [{ role: 'user', content: 'What is the capital of France?' }];
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('FakeOllama with the official ollama client', () => {
  let fake: FakeOllama;
  let ollama: Ollama;

  beforeEach(async () => {
    fake = await FakeOllama.start({ models: [MODEL, 'llama3.2:3b'], loaded: ['llama3.2:3b'] });
    ollama = new Ollama({ host: fake.url });
  });

  afterEach(() => fake.stop());

  it('streams a chat in several records that end with done and counts', async () => {
    const stream = await ollama.chat({ model: MODEL, messages, stream: true });
    let text = '';
    let parts = 0;
    let last;
    for await (const part of stream) {
      text += part.message.content;
      parts++;
      last = part;
    }
    assert.equal(text, fakeReply(undefined, messages, MODEL));
    assert.ok(parts > 3);
    assert.ok(last?.done);
    assert.equal(last.done_reason, 'stop');
    assert.equal(last.eval_count, parts - 1);
    // The exact count of the rendered prompt (cl100k over the ChatML template), as a tokenizer makes it.
    assert.equal(last.prompt_eval_count, countPromptTokens(messages));
    assert.ok(last.eval_duration > 0);
    assert.equal((fake.requests[0]?.body as { stream: boolean }).stream, true);
  });

  it('answers a non-streaming chat in one JSON', async () => {
    const res = await ollama.chat({ model: MODEL, messages, stream: false });
    assert.equal(res.message.role, 'assistant');
    assert.equal(res.message.content, fakeReply(undefined, messages, MODEL));
    assert.equal(res.done, true);
  });

  it('answers tools with tool calls, streaming or not, then text once the result is in', async () => {
    fake.setOptions({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const res = await ollama.chat({ model: MODEL, messages, tools: [weatherTool] });
    assert.deepEqual(res.message.tool_calls, [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }]);

    const calls = [];
    for await (const part of await ollama.chat({ model: MODEL, messages, tools: [weatherTool], stream: true })) {
      calls.push(...(part.message.tool_calls ?? []));
    }
    assert.deepEqual(calls, [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }]);

    const after = await ollama.chat({
      model: MODEL,
      tools: [weatherTool],
      messages: [...messages, { role: 'assistant', content: '', tool_calls: calls }, { role: 'tool', content: 'sunny', tool_name: 'get_weather' }],
    });
    assert.equal(after.message.tool_calls, undefined);
    assert.ok(after.message.content.length > 0);
  });

  it('uses a reply function of the messages and the model', async () => {
    fake.setOptions({ reply: (msgs, model) => `${model}:${msgs.length}` });
    assert.equal((await ollama.chat({ model: 'llama3.2:3b', messages })).message.content, 'llama3.2:3b:1');
  });

  it('streams /api/generate', async () => {
    let text = '';
    for await (const part of await ollama.generate({ model: MODEL, prompt: 'hi there', stream: true })) text += part.response;
    assert.equal(text, fakeReply(undefined, [{ role: 'user', content: 'hi there' }], MODEL));
  });

  it('lists models, loaded models, the version, and shows a model', async () => {
    assert.deepEqual(
      (await ollama.list()).models.map((m) => m.name),
      [MODEL, 'llama3.2:3b'],
    );
    const ps = await ollama.ps();
    assert.deepEqual(
      ps.models.map((m) => m.name),
      ['llama3.2:3b'],
    );
    assert.ok(ps.models[0]?.size_vram);
    assert.match((await ollama.version()).version, /^\d+\.\d+\.\d+$/);
    const show = await ollama.show({ model: MODEL });
    assert.equal(show.details.format, 'gguf');
    assert.ok(show.capabilities.includes('tools'));
  });

  it('rejects an unknown model with 404 and Ollama\'s message', async () => {
    await assert.rejects(ollama.chat({ model: 'nope:1b', messages }), (err: Error & { status_code?: number }) => {
      assert.equal(err.status_code, 404);
      assert.match(err.message, /model "nope:1b" not found, try pulling it first/);
      return true;
    });
  });

  it('requires the bearer token when one is set', async () => {
    fake.setOptions({ token: testTokens.node });
    await assert.rejects(ollama.list(), (err: Error & { status_code?: number }) => err.status_code === 401);
    const authed = new Ollama({ host: fake.url, headers: { Authorization: `Bearer ${testTokens.node}` } });
    assert.equal((await authed.chat({ model: MODEL, messages })).done, true);
  });

  it('answers 503 with Ollama\'s busy message under a status fault', async () => {
    await fake.setFault({ type: 'status', status: 503 });
    await assert.rejects(ollama.chat({ model: MODEL, messages }), (err: Error & { status_code?: number }) => {
      assert.equal(err.status_code, 503);
      assert.match(err.message, /server busy/);
      return true;
    });
    // Listings are not chat routes: they keep answering.
    assert.equal((await ollama.list()).models.length, 2);
  });
});

describe('FakeOllama with the official openai client (Ollama\'s /v1 routes)', () => {
  let fake: FakeOllama;
  let openai: OpenAI;

  beforeEach(async () => {
    fake = await FakeOllama.start();
    openai = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
  });

  afterEach(() => fake.stop());

  it('streams a completion with usage', async () => {
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, fakeReply(undefined, [{ role: 'user', content: 'hi' }], MODEL));
    assert.ok(usage && usage.completion_tokens > 1);
  });

  it('streams tool calls that the SDK\'s own accumulator reassembles', async () => {
    fake.setOptions({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } }] });
    const final = await openai.chat.completions
      .stream({
        model: MODEL,
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [{ type: 'function', function: weatherTool.function }],
      })
      .finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
    assert.match(call.id, /^call_/);
  });

  it('answers non-streaming, and lists models', async () => {
    const res = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(res.object, 'chat.completion');
    assert.equal(res.choices[0]?.message.content, fakeReply(undefined, [{ role: 'user', content: 'hi' }], MODEL));
    const models = [];
    for await (const m of openai.models.list()) models.push(m.id);
    assert.deepEqual(models, [MODEL]);
  });

  it('gives the OpenAI-shaped error for an unknown model', async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }),
      (err: Error & { status?: number }) => err.status === 404 && /not found/.test(err.message),
    );
  });
});

describe('FakeOllama as a worker of ours, and its fault machinery', () => {
  let fake: FakeOllama;

  afterEach(() => fake.stop());

  it('answers /health like `harombe start`, with the in-flight count, and without a token', async () => {
    fake = await FakeOllama.start({ token: testTokens.node, chunkDelayMs: 30, worker: { model: MODEL, tier: 2, nodeId: 'n1' } });
    const health = async () => (await (await fetch(`${fake.url}/health`)).json()) as Record<string, unknown>;
    assert.deepEqual(await health(), {
      status: 'ok',
      model: MODEL,
      tier: 2,
      version: '0.1.0',
      node_id: 'n1',
      in_flight: 0,
      max_parallel: 4,
      models: [MODEL],
      hardware: null,
      apis: ['ollama', 'openai', 'complete'],
      capabilities: ['completion', 'tools'],
      context_max: 32768,
    });
    const ollama = new Ollama({ host: fake.url, headers: { Authorization: `Bearer ${testTokens.node}` } });
    const stream = await ollama.chat({ model: MODEL, messages, stream: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    assert.equal((await health()).in_flight, 1);
    while (!(await iterator.next()).done);
    assert.equal((await health()).in_flight, 0);
  });

  it('answers /health only in worker mode', async () => {
    fake = await FakeOllama.start();
    assert.equal((await fetch(`${fake.url}/health`)).status, 404);
  });

  it('health faults are separate from chat faults', async () => {
    fake = await FakeOllama.start({ worker: { model: MODEL, tier: 0 } });
    await fake.setHealthFault({ type: 'status', status: 500 });
    assert.equal((await fetch(`${fake.url}/health`)).status, 500);
    assert.equal((await new Ollama({ host: fake.url }).chat({ model: MODEL, messages })).done, true);
    await fake.setHealthFault({ type: 'garbage' });
    await assert.rejects((await fetch(`${fake.url}/health`)).json());
  });

  it('refuse closes the port and none reopens the same one; restart keeps the port', async () => {
    fake = await FakeOllama.start();
    const port = fake.port;
    await fake.setFault({ type: 'refuse' });
    await assert.rejects(fetch(`${fake.url}/api/tags`), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED');
    await fake.setFault({ type: 'none' });
    assert.equal(fake.port, port);
    assert.equal((await fetch(`${fake.url}/api/tags`)).status, 200);
    await fake.restart();
    assert.equal(fake.port, port);
    assert.equal((await fetch(`${fake.url}/api/tags`)).status, 200);
  });

  it('stop() ends hanging requests at once', async () => {
    fake = await FakeOllama.start();
    await fake.setFault({ type: 'hang' });
    const hanging = fetch(`${fake.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages }) });
    while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // A stop() that waited for the hanging request would never return (the test's timeout ends it).
    await fake.stop();
    await assert.rejects(hanging);
  });

  it('records every request with its parsed body and headers', async () => {
    fake = await FakeOllama.start();
    await new Ollama({ host: fake.url }).chat({ model: MODEL, messages, options: { temperature: 0.1 } });
    const [req] = fake.requests;
    assert.equal(req?.method, 'POST');
    assert.equal(req?.path, '/api/chat');
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.deepEqual((req?.body as { options: unknown }).options, { temperature: 0.1 });
  });
});
