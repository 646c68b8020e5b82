import { strict as assert } from 'node:assert';
import { Agent, errors } from 'undici';
import { OllamaClient } from '../../../src/core/inference/ollamaClient';
import type { ChatRequest } from '../../../src/core/inference/types';
import { FakeOllama } from '../../fakes/fakeOllama';
import { countPromptTokens, fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';
import { collect, endpointFor, expectNodeError, STALL_MS, timed } from './clientHarness';

const MODEL = 'qwen2.5:7b';
const hello: ChatRequest = { model: MODEL, messages: [{ role: 'user', content: 'Say hello' }] };

describe('OllamaClient', () => {
  let fake: FakeOllama;
  let agent: Agent;

  beforeEach(async () => {
    fake = await FakeOllama.start();
    agent = new Agent();
  });

  afterEach(async () => {
    await fake.stop();
    await agent.destroy();
  });

  const client = (overrides = {}) => new OllamaClient(endpointFor(fake.url, overrides), agent);

  it('streams the text so that it reassembles exactly, in several deltas, and ends with the counts', async () => {
    const got = await collect(client().chat(hello));
    assert.equal(got.text, fakeReply(undefined, hello.messages, MODEL));
    assert.ok(got.text.includes('👋') && got.text.includes(MODEL));
    assert.ok(got.deltas.length > 3, `expected several deltas, got ${got.deltas.length}`);
    assert.deepEqual(got.toolCalls, []);
    assert.ok(got.done);
    assert.equal(got.done.doneReason, 'stop');
    assert.equal(got.done.promptTokens, countPromptTokens(hello.messages));
    assert.equal(got.done.completionTokens, got.deltas.length);
    assert.equal(got.done.evalMs, got.deltas.length * 20); // the fake reports 20 ms per token, in ns
  });

  it('reassembles multi-byte characters split across network chunks (one byte per chunk)', async () => {
    fake.setOptions({ reply: 'Grüße 👋 naïve — 日本語' });
    await fake.setFault({ type: 'trickle', intervalMs: 1 });
    const got = await collect(client({ stallTimeoutMs: 2000 }).chat(hello));
    assert.equal(got.text, 'Grüße 👋 naïve — 日本語');
    assert.ok(got.done);
  });

  it('sends the request Ollama expects: stream, options.temperature, tools and message mapping', async () => {
    await collect(
      client().chat({
        model: MODEL,
        temperature: 0.2,
        tools: [{ name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } }],
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'read a.txt' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', name: 'read_file', arguments: { path: 'a.txt' } }] },
          { role: 'tool', content: 'hello', tool_call_id: 'call_1' },
        ],
      }),
    );
    const req = fake.requests.at(-1);
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/api/chat');
    assert.deepEqual(req.body, {
      model: MODEL,
      stream: true,
      options: { temperature: 0.2 },
      tools: [
        {
          type: 'function',
          function: { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } },
        },
      ],
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'read a.txt' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'read_file', arguments: { path: 'a.txt' } } }] },
        // The name is looked up from the assistant's call, since Ollama wants tool_name, not the id.
        { role: 'tool', content: 'hello', tool_name: 'read_file' },
      ],
    });
    assert.equal(req.headers.authorization, undefined);
  });

  it('yields tool calls with generated ids when the model asks for tools', async () => {
    fake.setOptions({
      toolCalls: [
        { name: 'read_file', arguments: { path: 'src/a.ts' } },
        { name: 'search', arguments: { query: 'x', max: 3 } },
      ],
    });
    const got = await collect(
      client().chat({ ...hello, tools: [{ name: 'read_file', description: 'r', parameters: { type: 'object' } }] }),
    );
    assert.equal(got.text, '');
    assert.deepEqual(
      got.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments })),
      [
        { name: 'read_file', arguments: { path: 'src/a.ts' } },
        { name: 'search', arguments: { query: 'x', max: 3 } },
      ],
    );
    for (const c of got.toolCalls) assert.match(c.id, /^call_[0-9a-f]{24}$/);
    assert.notEqual(got.toolCalls[0]?.id, got.toolCalls[1]?.id);
    assert.ok(got.done);
  });

  it('keeps the ids newer Ollama versions send', async () => {
    fake.setOptions({ toolCalls: [{ id: 'call_from_ollama', name: 'read_file', arguments: {} }] });
    const got = await collect(client().chat({ ...hello, tools: [{ name: 'read_file', description: 'r', parameters: {} }] }));
    assert.equal(got.toolCalls[0]?.id, 'call_from_ollama');
  });

  it('sends the bearer token, and reuses one keep-alive connection for consecutive answers', async () => {
    await fake.stop();
    fake = await FakeOllama.start({ token: testTokens.node });
    const c = client({ token: testTokens.node });
    await collect(c.chat(hello));
    // undici checks an idle socket on the next turn of the event loop before reusing it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(fake.openConnections, 1, 'the answer is drained, so its socket stays open for the next one');
    await collect(c.chat(hello));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(fake.requests.length, 2);
    for (const r of fake.requests) assert.equal(r.headers.authorization, `Bearer ${testTokens.node}`);
    assert.equal(fake.openConnections, 1, 'the second answer reused the first one\'s socket');
  });

  it('turns a missing or wrong token into auth, without the token in the message', async () => {
    await fake.stop();
    fake = await FakeOllama.start({ token: testTokens.node });
    const missing = await expectNodeError(client().chat(hello), 'auth');
    assert.equal(missing.details.status, 401);
    const wrong = await expectNodeError(client({ token: testTokens.wrong }).chat(hello), 'auth');
    assert.ok(!wrong.message.includes(testTokens.wrong));
    assert.equal(wrong.countsAgainstNode, true);
  });

  it('reports an unknown model as http 404 with Ollama\'s error text', async () => {
    const err = await expectNodeError(client().chat({ ...hello, model: 'nope:1b' }), 'http');
    assert.equal(err.details.status, 404);
    assert.match(err.message, /model "nope:1b" not found/);
  });

  describe('faults', () => {
    it('refuse → refused', async () => {
      await fake.setFault({ type: 'refuse' });
      await expectNodeError(client().chat(hello), 'refused');
      await fake.setFault({ type: 'none' });
      assert.ok((await collect(client().chat(hello))).done, 'listens again on the same port');
    });

    it('die_before_headers → refused', async () => {
      await fake.setFault({ type: 'die_before_headers' });
      await expectNodeError(client().chat(hello), 'refused');
    });

    it('die_mid_stream → incomplete, after the deltas already sent', async () => {
      await fake.setFault({ type: 'die_mid_stream', afterChunks: 2 });
      const seen: string[] = [];
      const stream = (async function* (s) {
        for await (const c of s) {
          if (c.type === 'delta') seen.push(c.text);
          yield c;
        }
      })(client().chat(hello));
      await expectNodeError(stream, 'incomplete');
      assert.equal(seen.length, 2);
    });

    it('hang → stall after the stall timeout', async () => {
      await fake.setFault({ type: 'hang' });
      const { ms } = await timed(() => expectNodeError(client().chat(hello), 'stall'));
      // The node never answers, so only the stall timer ends this; it cannot fire early.
      assert.ok(ms >= STALL_MS - 20, `stalled after ${ms} ms, before the stall timeout`);
    });

    it('trickle slower than the stall timeout → stall; faster → the full answer', async () => {
      await fake.setFault({ type: 'trickle', intervalMs: STALL_MS * 2 });
      await expectNodeError(client().chat(hello), 'stall');
      const reply = 'ok '.repeat(12).trim();
      fake.setOptions({ reply });
      await fake.setFault({ type: 'trickle', intervalMs: 1 });
      // Far longer in total than the stall timeout (a byte a millisecond, over a thousand bytes),
      // but never silent for long: a 500 ms timeout leaves a loaded machine room between bytes.
      const { value, ms } = await timed(() => collect(client({ stallTimeoutMs: 500 }).chat(hello)));
      assert.equal(value.text, reply);
      assert.ok(ms > 500, `took ${ms} ms: too short to tell a total timeout from a stall timeout`);
    });

    it('a consumer slower than the stall timeout is not a stall of the node', async () => {
      // Over 64 KiB of records: undici buffers what it can, then stops reading the socket.
      const reply = 'word '.repeat(5000);
      fake.setOptions({ reply });
      let text = '';
      let paused = false;
      // A 1 s stall timeout and a 2.5 s pause: the pause is what must not count, and a loaded
      // machine's own gaps (the fake shares this event loop) stay well under the timeout.
      for await (const c of client({ stallTimeoutMs: 1000 }).chat(hello)) {
        if (c.type !== 'delta') continue;
        text += c.text;
        if (!paused) {
          paused = true;
          await new Promise((resolve) => setTimeout(resolve, 2500));
        }
      }
      assert.equal(text, reply);
    });

    it('status 500 → http with the status and the error text', async () => {
      await fake.setFault({ type: 'status', status: 500, body: { error: 'llama runner process has terminated' } });
      const err = await expectNodeError(client().chat(hello), 'http');
      assert.equal(err.details.status, 500);
      assert.match(err.message, /llama runner process has terminated/);
    });

    it('status 503 → busy, which does not count against the node', async () => {
      await fake.setFault({ type: 'status', status: 503 });
      const err = await expectNodeError(client().chat(hello), 'busy');
      assert.match(err.message, /server busy/);
      assert.equal(err.countsAgainstNode, false);
    });

    it('status 429 with Retry-After → rate_limited with retryAfterMs', async () => {
      await fake.setFault({ type: 'status', status: 429, retryAfter: 7 });
      const err = await expectNodeError(client().chat(hello), 'rate_limited');
      assert.equal(err.details.retryAfterMs, 7000);
      await fake.setFault({ type: 'status', status: 429, retryAfter: new Date(Date.now() + 60_000).toUTCString() });
      const dated = await expectNodeError(client().chat(hello), 'rate_limited');
      assert.ok(dated.details.retryAfterMs! > 55_000 && dated.details.retryAfterMs! <= 60_000, String(dated.details.retryAfterMs));
    });

    it('status 403 → auth', async () => {
      await fake.setFault({ type: 'status', status: 403 });
      await expectNodeError(client().chat(hello), 'auth');
    });

    it('a long error body is truncated in the message', async () => {
      await fake.setFault({ type: 'status', status: 502, body: { error: 'e'.repeat(5000) } });
      const err = await expectNodeError(client().chat(hello), 'http');
      assert.ok(err.message.length < 400, `message is ${err.message.length} chars`);
    });

    it('garbage → protocol', async () => {
      await fake.setFault({ type: 'garbage' });
      await expectNodeError(client().chat(hello), 'protocol');
    });

    it('oversized → oversized at the default 1 MiB limit and at a configured one', async () => {
      await fake.setFault({ type: 'oversized', bytes: 1024 * 1024 + 10 });
      await expectNodeError(client().chat(hello), 'oversized');
      await fake.setFault({ type: 'oversized', bytes: 5000 });
      await expectNodeError(client({ maxLineBytes: 4096 }).chat(hello), 'oversized');
      // Below the limit the same line is fine.
      assert.ok((await collect(client({ maxLineBytes: 8192 }).chat(hello))).done);
    });

    it('no_final → incomplete', async () => {
      await fake.setFault({ type: 'no_final' });
      await expectNodeError(client().chat(hello), 'incomplete');
    });
  });

  describe('cancellation and connecting', () => {
    it('abort mid-stream → aborted, and the node sees the connection close', async () => {
      fake.setOptions({ chunkDelayMs: 40, reply: 'one two three four five six seven eight nine ten' });
      const controller = new AbortController();
      const stream = client().chat({ ...hello, signal: controller.signal });
      const got: string[] = [];
      await timed(() =>
        expectNodeError(
          (async function* () {
            for await (const c of stream) {
              if (c.type === 'delta') got.push(c.text);
              if (got.length === 2) controller.abort();
              yield c;
            }
          })(),
          'aborted',
        ),
      );
      // Without the abort the answer would have ended whole, not 'aborted': that is the check, not a time.
      assert.equal(got.length, 2);
      const aborted = await fake.waitForClientAbort();
      assert.equal(aborted.path, '/api/chat');
      assert.equal(fake.inFlight, 0);
    });

    it('abort while waiting for the headers → aborted at once', async () => {
      await fake.setFault({ type: 'hang' });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      // Had the abort waited for the headers, the 5 s stall timer would have ended it as 'stall'.
      await expectNodeError(client({ stallTimeoutMs: 5000 }).chat({ ...hello, signal: controller.signal }), 'aborted');
      await fake.waitForClientAbort();
    });

    it('an already aborted signal sends nothing', async () => {
      await expectNodeError(client().chat({ ...hello, signal: AbortSignal.abort() }), 'aborted');
      assert.equal(fake.requests.length, 0);
    });

    it('a consumer that stops early tears the request down', async () => {
      fake.setOptions({ chunkDelayMs: 40, reply: 'one two three four five six seven eight' });
      for await (const c of client().chat(hello)) {
        if (c.type === 'delta') break;
      }
      await fake.waitForClientAbort();
    });

    it('a connection that never opens → connect_timeout after connectTimeoutMs', async () => {
      const stuck = new Agent({ connect: () => undefined }); // the connector never calls back
      try {
        const c = new OllamaClient(endpointFor(fake.url, { connectTimeoutMs: 200, stallTimeoutMs: 5000 }), stuck);
        const { ms } = await timed(() => expectNodeError(c.chat(hello), 'connect_timeout'));
        // The connector never calls back, so the connect timer (not the 5 s stall timer) ended it, and not early.
        assert.ok(ms >= 180, `gave up after ${ms} ms, before the connect timeout`);
      } finally {
        await stuck.destroy();
      }
    });

    it("the dispatcher's own connect timeout is connect_timeout too", async () => {
      const timingOut = new Agent({ connect: (_opts, cb) => cb(new errors.ConnectTimeoutError(), null) });
      try {
        await expectNodeError(new OllamaClient(endpointFor(fake.url), timingOut).chat(hello), 'connect_timeout');
      } finally {
        await timingOut.destroy();
      }
    });
  });
});
