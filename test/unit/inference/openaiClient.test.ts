import { strict as assert } from 'node:assert';
import { Agent } from 'undici';
import { OpenAIClient } from '../../../src/core/inference/openaiClient';
import type { ChatRequest } from '../../../src/core/inference/types';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakeOpenAI } from '../../fakes/fakeOpenAI';
import { countPromptTokens, fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';
import { collect, endpointFor, expectNodeError, STALL_MS, timed } from './clientHarness';
import { rawSseServer } from '../../fakes/rawSseServer';

const MODEL = 'qwen2.5:7b';
const hello: ChatRequest = { model: MODEL, messages: [{ role: 'user', content: 'Say hello please' }] };
const readFile = { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } };

describe('OpenAIClient', () => {
  let fake: FakeOpenAI;
  let agent: Agent;

  beforeEach(async () => {
    fake = await FakeOpenAI.start();
    agent = new Agent();
  });

  afterEach(async () => {
    await fake.stop();
    await agent.destroy();
  });

  const client = (overrides = {}) => new OpenAIClient(endpointFor(fake.url, overrides), agent);

  it('streams the text so that it reassembles exactly, and ends with finish_reason and usage', async () => {
    const got = await collect(client().chat(hello));
    assert.equal(got.text, fakeReply(undefined, hello.messages, MODEL));
    assert.ok(got.deltas.length > 3);
    assert.ok(got.done);
    assert.equal(got.done.doneReason, 'stop');
    assert.equal(got.done.promptTokens, countPromptTokens(hello.messages));
    assert.equal(got.done.completionTokens, got.deltas.length);
  });

  it('sends stream, stream_options.include_usage, temperature, tools and OpenAI-shaped messages', async () => {
    await collect(
      client().chat({
        model: MODEL,
        temperature: 0,
        tools: [readFile],
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'read a.txt and b.txt' },
          {
            role: 'assistant',
            content: '',
            tool_calls: [
              { id: 'call_a', name: 'read_file', arguments: { path: 'a.txt' } },
              { id: 'call_b', name: 'grep', arguments: { q: 'x' } },
            ],
          },
          { role: 'tool', content: 'A', tool_call_id: 'call_a' },
          // Only the name: the id is looked up from the assistant's calls.
          { role: 'tool', content: 'B', name: 'grep' },
        ],
      }),
    );
    const req = fake.requests.at(-1);
    assert.ok(req);
    assert.equal(req.path, '/v1/chat/completions');
    assert.equal(req.headers.accept, 'text/event-stream');
    assert.deepEqual(req.body, {
      model: MODEL,
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0,
      tools: [{ type: 'function', function: readFile }],
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'read a.txt and b.txt' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.txt"}' } },
            { id: 'call_b', type: 'function', function: { name: 'grep', arguments: '{"q":"x"}' } },
          ],
        },
        { role: 'tool', content: 'A', tool_call_id: 'call_a' },
        { role: 'tool', content: 'B', tool_call_id: 'call_b' },
      ],
    });
  });

  it('reassembles tool calls streamed in fragments by index', async () => {
    fake.setOptions({
      toolCalls: [
        { id: 'call_1', name: 'read_file', arguments: { path: 'src/some/long/path/name.ts', encoding: 'utf8' } },
        { name: 'search', arguments: { query: 'needle "quoted" ünïcode', max: 3 } },
      ],
    });
    const got = await collect(client().chat({ ...hello, tools: [readFile] }));
    assert.equal(got.text, '');
    assert.equal(got.toolCalls.length, 2);
    assert.deepEqual(got.toolCalls[0], { id: 'call_1', name: 'read_file', arguments: { path: 'src/some/long/path/name.ts', encoding: 'utf8' } });
    assert.equal(got.toolCalls[1]?.name, 'search');
    assert.deepEqual(got.toolCalls[1]?.arguments, { query: 'needle "quoted" ünïcode', max: 3 });
    assert.match(got.toolCalls[1]?.id ?? '', /^call_/);
    assert.equal(got.done?.doneReason, 'tool_calls');
    // The tool calls come before done, once.
    assert.deepEqual(
      got.chunks.map((c) => c.type),
      ['tool_calls', 'done'],
    );
  });

  it("works against Ollama's own OpenAI-compatible routes", async () => {
    const ollama = await FakeOllama.start({ models: ['llama3.2:3b'] });
    try {
      const got = await collect(new OpenAIClient(endpointFor(ollama.url), agent).chat({ ...hello, model: 'llama3.2:3b' }));
      assert.equal(got.text, fakeReply(undefined, hello.messages, 'llama3.2:3b'));
      assert.ok(got.done?.completionTokens);
    } finally {
      await ollama.stop();
    }
  });

  it('sends the bearer token; without it the node answers 401 → auth', async () => {
    fake.setOptions({ token: testTokens.apiKey });
    assert.ok((await collect(client({ token: testTokens.apiKey }).chat(hello))).done);
    assert.equal(fake.requests.at(-1)?.headers.authorization, `Bearer ${testTokens.apiKey}`);
    const err = await expectNodeError(client().chat(hello), 'auth');
    assert.equal(err.details.status, 401);
    assert.match(err.message, /Invalid API Key/);
  });

  it('tool call arguments that are not JSON → protocol', async () => {
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const raw = await rawSseServer(
      chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }) +
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'oops}' } }] }) +
        chunk({}, 'tool_calls') +
        'data: [DONE]\n\n',
    );
    try {
      const err = await expectNodeError(new OpenAIClient(endpointFor(raw.url), agent).chat(hello), 'protocol');
      assert.match(err.message, /arguments of tool call f/);
    } finally {
      await raw.close();
    }
  });

  it('an error event mid-stream → incomplete with its message', async () => {
    const raw = await rawSseServer(
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] })}\n\n` +
        `data: ${JSON.stringify({ error: { message: 'model crashed', type: 'server_error' } })}\n\n`,
    );
    try {
      const err = await expectNodeError(new OpenAIClient(endpointFor(raw.url), agent).chat(hello), 'incomplete');
      assert.match(err.message, /model crashed/);
    } finally {
      await raw.close();
    }
  });

  it('accepts CRLF line endings, comments and multi-line data', async () => {
    const raw = await rawSseServer(
      ': keep-alive\r\n\r\n' +
        'event: message\r\ndata: {"choices":[{"index":0,\r\ndata: "delta":{"content":"a\\nb"},"finish_reason":null}]}\r\n\r\n' +
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\r\n\r\n' +
        'data: [DONE]\r\n\r\n',
    );
    try {
      const got = await collect(new OpenAIClient(endpointFor(raw.url), agent).chat(hello));
      assert.equal(got.text, 'a\nb');
      assert.equal(got.done?.doneReason, 'length');
    } finally {
      await raw.close();
    }
  });

  describe('faults', () => {
    it('refuse → refused, and the same port serves again afterwards', async () => {
      await fake.setFault({ type: 'refuse' });
      await expectNodeError(client().chat(hello), 'refused');
      await fake.setFault({ type: 'none' });
      assert.ok((await collect(client().chat(hello))).done);
    });

    it('die_before_headers → refused', async () => {
      await fake.setFault({ type: 'die_before_headers' });
      await expectNodeError(client().chat(hello), 'refused');
    });

    it('die_mid_stream → incomplete', async () => {
      await fake.setFault({ type: 'die_mid_stream', afterChunks: 3 });
      await expectNodeError(client().chat(hello), 'incomplete');
    });

    it('hang → stall', async () => {
      await fake.setFault({ type: 'hang' });
      const { ms } = await timed(() => expectNodeError(client().chat(hello), 'stall'));
      // The node never answers, so only the stall timer ends this; it cannot fire early.
      assert.ok(ms >= STALL_MS - 20, `stalled after ${ms} ms, before the stall timeout`);
    });

    it('trickle slower than the stall timeout → stall', async () => {
      await fake.setFault({ type: 'trickle', intervalMs: STALL_MS * 2 });
      await expectNodeError(client().chat(hello), 'stall');
    });

    it('status 500 → http; 503 → busy; 429 → rate_limited; 401 → auth', async () => {
      await fake.setFault({ type: 'status', status: 500 });
      const http500 = await expectNodeError(client().chat(hello), 'http');
      assert.equal(http500.details.status, 500);
      assert.match(http500.message, /an internal error occurred/); // from {"error":{"message"}}
      await fake.setFault({ type: 'status', status: 503 });
      await expectNodeError(client().chat(hello), 'busy');
      await fake.setFault({ type: 'status', status: 429, retryAfter: 2 });
      const limited = await expectNodeError(client().chat(hello), 'rate_limited');
      assert.equal(limited.details.retryAfterMs, 2000);
      await fake.setFault({ type: 'status', status: 401 });
      await expectNodeError(client().chat(hello), 'auth');
    });

    it('garbage → protocol', async () => {
      await fake.setFault({ type: 'garbage' });
      await expectNodeError(client().chat(hello), 'protocol');
    });

    it('oversized → oversized', async () => {
      await fake.setFault({ type: 'oversized', bytes: 3000 });
      await expectNodeError(client({ maxLineBytes: 2048 }).chat(hello), 'oversized');
      assert.ok((await collect(client({ maxLineBytes: 4096 }).chat(hello))).done);
    });

    it('no_final (no data: [DONE]) → incomplete', async () => {
      await fake.setFault({ type: 'no_final' });
      const err = await expectNodeError(client().chat(hello), 'incomplete');
      assert.match(err.message, /\[DONE\]/);
    });
  });

  it('abort mid-stream → aborted, and the node sees the connection close', async () => {
    fake.setOptions({ chunkDelayMs: 40, reply: 'one two three four five six seven eight nine ten' });
    const controller = new AbortController();
    const err = await expectNodeError(
      (async function* (stream) {
        for await (const c of stream) {
          if (c.type === 'delta') controller.abort();
          yield c;
        }
      })(client().chat({ ...hello, signal: controller.signal })),
      'aborted',
    );
    assert.equal(err.countsAgainstNode, false);
    const seen = await fake.waitForClientAbort();
    assert.equal(seen.path, '/v1/chat/completions');
  });
});
