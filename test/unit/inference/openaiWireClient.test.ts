import { strict as assert } from 'node:assert';
import { Agent, request } from 'undici';
import { NodeError } from '../../../src/core/inference/nodeError';
import { OpenAIWireClient } from '../../../src/core/inference/openaiWireClient';
import type { ChatChunk, ChatRequest, WireRequest } from '../../../src/core/inference/types';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakeOpenAI } from '../../fakes/fakeOpenAI';
import { countPromptTokens, fakeReply } from '../../fakes/fakeReply';
import { collect, endpointFor, expectNodeError } from './clientHarness';
import { rawSseServer } from '../../fakes/rawSseServer';

const MODEL = 'qwen2.5:7b';
const messages = [{ role: 'user' as const, content: 'Say hello' }];
const PATH = '/v1/chat/completions';
const readFile = { type: 'function', function: { name: 'read_file', description: 'read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } };

function wireRequest(body: Record<string, unknown>, onRelayStart?: WireRequest['onRelayStart']): ChatRequest {
  const wire: WireRequest = { protocol: 'openai', path: PATH, body };
  if (onRelayStart) wire.onRelayStart = onRelayStart;
  return { model: MODEL, messages, wire };
}

/** What the node itself answers to the same body, byte for byte. */
async function directBytes(url: string, body: object): Promise<string> {
  const res = await request(`${url}${PATH}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return res.body.text();
}

/** Completion and call ids and creation times differ from one request to the next; nothing else may. */
const unstamped = (sse: string) =>
  sse
    .replace(/"id":"(chatcmpl|call)-?_?[0-9a-f]+"/g, '"id":"X"')
    .replace(/"created":\d+/g, '"created":0');

/** Every event of a piece, each a `data:` line that parses (or `[DONE]`); the piece ends at an event boundary. */
function events(piece: Buffer): string[] {
  const text = piece.toString('utf8');
  assert.ok(text.endsWith('\n\n'), `a piece ends at an event boundary: ${JSON.stringify(text.slice(-30))}`);
  const out = text.slice(0, -2).split('\n\n');
  for (const e of out) if (e !== 'data: [DONE]') JSON.parse(e.replace(/^data: /, ''));
  return out;
}

/** Runs `stream()` and records every chunk in order, and the error it ended with, if any. */
async function run(client: OpenAIWireClient, req: ChatRequest): Promise<{ chunks: ChatChunk[]; bytes: string; error?: NodeError }> {
  const chunks: ChatChunk[] = [];
  try {
    await client.stream(req, (c) => void chunks.push(c));
  } catch (err) {
    assert.ok(err instanceof NodeError, `expected a NodeError, got ${String(err)}`);
    return { chunks, bytes: handedOn(chunks), error: err };
  }
  return { chunks, bytes: handedOn(chunks) };
}

function handedOn(chunks: ChatChunk[]): string {
  return chunks.map((c) => (c.type === 'wire' ? c.bytes.toString('utf8') : c.type === 'done' ? (c.wire?.toString('utf8') ?? '') : '')).join('');
}

const sseChunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

describe('OpenAIWireClient (relaying a gateway client request)', () => {
  let fake: FakeOpenAI;
  let agent: Agent;

  beforeEach(async () => {
    fake = await FakeOpenAI.start({ models: [MODEL] });
    agent = new Agent();
  });

  afterEach(async () => {
    await fake.stop();
    await agent.destroy();
  });

  const client = (overrides = {}, url = fake.url) => new OpenAIWireClient(endpointFor(url, overrides), agent);

  it('sends the client body as it came, with only model and stream replaced and the usage chunk asked for', async () => {
    const body = {
      model: 'harombe',
      messages,
      stream: false,
      max_tokens: 64,
      max_completion_tokens: 64,
      stop: ['\n\n', 'END'],
      top_p: 0.9,
      seed: 7,
      presence_penalty: 0.5,
      response_format: { type: 'json_object' },
      tools: [readFile],
      tool_choice: 'auto',
      stream_options: { continuous_usage_stats: false },
    };
    await collect(client().chat(wireRequest(body)));
    const sent = fake.requests.at(-1);
    assert.equal(sent?.path, PATH);
    assert.match(String(sent?.headers.accept), /text\/event-stream/);
    assert.deepEqual(sent?.body, { ...body, model: MODEL, stream: true, stream_options: { continuous_usage_stats: false, include_usage: true } });
  });

  it("hands on the node's events byte for byte, the closing ones last, with the text they carry", async () => {
    const body = { model: 'harombe', messages, stream: true, stream_options: { include_usage: true } };
    const got = await collect(client().chat(wireRequest(body)));
    assert.ok(got.done?.wire, 'the closing events come with the done chunk');
    const relayed = Buffer.concat([...got.wire, got.done.wire]).toString('utf8');
    const direct = await directBytes(fake.url, { ...body, model: MODEL });
    assert.equal(unstamped(relayed), unstamped(direct));
    assert.equal(got.text, fakeReply(undefined, messages, MODEL));
    const closing = events(got.done.wire);
    assert.equal(closing.length, 3, 'finish_reason, usage, [DONE]');
    assert.match(closing[0] ?? '', /"finish_reason":"stop"/);
    assert.match(closing[1] ?? '', /"choices":\[\],"usage":/);
    assert.equal(closing[2], 'data: [DONE]');
    for (const piece of got.wire) events(piece);
    assert.equal(got.done.doneReason, 'stop');
    assert.equal(got.done.promptTokens, countPromptTokens(messages));
    assert.equal(got.done.completionTokens, got.text.split(/(?=\s)/).length);
  });

  it('leaves the usage chunk out when the client did not ask for it, and still reports the token counts', async () => {
    const body = { model: 'harombe', messages, stream: true };
    const got = await collect(client().chat(wireRequest(body)));
    const relayed = Buffer.concat([...got.wire, got.done?.wire ?? Buffer.alloc(0)]).toString('utf8');
    const direct = await directBytes(fake.url, { ...body, model: MODEL });
    assert.doesNotMatch(direct, /"usage"/);
    assert.equal(unstamped(relayed), unstamped(direct));
    assert.equal(got.done?.promptTokens, countPromptTokens(messages));
    assert.ok((got.done?.completionTokens ?? 0) > 0);
  });

  it('hands on nothing that carries no text: the role-only first event waits for the first token', async () => {
    const got = await collect(client().chat(wireRequest({ model: 'harombe', messages, stream: true })));
    const pieces = got.chunks.filter((c): c is Extract<ChatChunk, { type: 'wire' }> => c.type === 'wire');
    assert.ok(pieces.length > 0);
    for (const piece of pieces) assert.ok(piece.text.length > 0 || piece.calls, 'every piece handed on carries text');
    assert.match(events(pieces[0]!.bytes)[0] ?? '', /"delta":\{"role":"assistant","content":""\}/);
  });

  it('tells the request the first record of the answer once, before its first bytes are handed on', async () => {
    const seen: Readonly<Record<string, unknown>>[] = [];
    const chunks: ChatChunk[] = [];
    await client().stream(
      wireRequest({ model: 'harombe', messages, stream: true }, (record) => {
        assert.equal(chunks.length, 0, 'told before anything is handed on');
        seen.push(record);
      }),
      (c) => void chunks.push(c),
    );
    assert.equal(seen.length, 1);
    assert.match(String(seen[0]?.id), /^chatcmpl-/);
    assert.equal(seen[0]?.model, MODEL);
    const first = chunks.find((c) => c.type === 'wire');
    assert.ok(first?.type === 'wire' && first.bytes.toString().includes(String(seen[0]?.id)));
  });

  it('cuts events split across network reads only at event boundaries (one byte per read)', async () => {
    fake.setOptions({ reply: 'Grüße 👋 naïve' });
    await fake.setFault({ type: 'trickle', intervalMs: 1 });
    const got = await collect(client({ stallTimeoutMs: 2000 }).chat(wireRequest({ model: 'harombe', messages, stream: true })));
    assert.equal(got.text, 'Grüße 👋 naïve');
    for (const piece of got.wire) events(piece);
    assert.ok(got.done?.wire?.toString().endsWith('data: [DONE]\n\n'));
  });

  it('relays CRLF line endings, comments and multi-line data as they came, and reads them like OpenAIClient', async () => {
    const sse =
      ': keep-alive\r\n\r\n' +
      'event: message\r\ndata: {"id":"c","choices":[{"index":0,\r\ndata: "delta":{"content":"a\\nb"},"finish_reason":null}]}\r\n\r\n' +
      'data: {"id":"c","choices":[{"index":0,"delta":{"content":"c"},"finish_reason":"length"}]}\r\n\r\n' +
      'data: [DONE]\r\n\r\n';
    const raw = await rawSseServer(sse);
    try {
      const got = await collect(client({}, raw.url).chat(wireRequest({ model: 'harombe', messages, stream: true })));
      assert.equal(got.text, 'a\nbc', 'the text of the finish event counts too');
      assert.equal(got.done?.doneReason, 'length');
      assert.equal(Buffer.concat([...got.wire, got.done?.wire ?? Buffer.alloc(0)]).toString(), sse);
      assert.ok(got.done?.wire?.toString().startsWith('data: {"id":"c","choices":[{"index":0,"delta":{"content":"c"}'), 'the finish event is held until [DONE]');
    } finally {
      await raw.close();
    }
  });

  it('reassembles tool calls streamed in fragments and holds their events until [DONE], so no call is shown half', async () => {
    fake.setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }, { name: 'read_file', arguments: { path: 'b.ts', lines: [1, 20] } }] });
    const body = { model: 'harombe', messages, stream: true, tools: [readFile] };
    const got = await run(client(), wireRequest(body));
    assert.equal(got.error, undefined);
    const wires = got.chunks.filter((c) => c.type === 'wire');
    assert.equal(wires.length, 1, 'one piece, told with the done chunk');
    const [piece] = wires;
    assert.ok(piece?.type === 'wire');
    assert.deepEqual(
      piece.calls?.map((c) => [c.name, c.arguments]),
      [
        ['read_file', { path: 'a.ts' }],
        ['read_file', { path: 'b.ts', lines: [1, 20] }],
      ],
    );
    assert.ok(piece.calls?.every((c) => got.bytes.includes(`"id":"${c.id}"`)), "the calls keep the node's ids");
    assert.equal(piece.bytes.length, 0, 'the fragments are in the closing bytes');
    const done = got.chunks.at(-1);
    assert.ok(done?.type === 'done');
    assert.equal(done.doneReason, 'tool_calls');
    assert.equal(unstamped(got.bytes), unstamped(await directBytes(fake.url, { ...body, model: MODEL })));
  });

  it('refuses tool call arguments that are not JSON before handing any of them on', async () => {
    const raw = await rawSseServer(
      sseChunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }) +
        sseChunk({ tool_calls: [{ index: 0, function: { arguments: 'oops}' } }] }) +
        sseChunk({}, 'tool_calls') +
        'data: [DONE]\n\n',
    );
    try {
      const got = await run(client({}, raw.url), wireRequest({ model: 'harombe', messages, stream: true }));
      assert.equal(got.error?.kind, 'protocol');
      assert.match(got.error?.message ?? '', /arguments of tool call f/);
      assert.equal(got.bytes, '');
    } finally {
      await raw.close();
    }
  });

  describe('faults: a NodeError before any byte of the bad event is handed on', () => {
    it('garbage → protocol', async () => {
      await fake.setFault({ type: 'garbage' });
      const got = await run(client(), wireRequest({ model: 'harombe', messages, stream: true }));
      assert.equal(got.error?.kind, 'protocol');
      assert.match(got.error?.message ?? '', /not JSON/);
      assert.equal(got.bytes, '');
    });

    it('garbage after good events: those are handed on, the garbage is not', async () => {
      const raw = await rawSseServer(sseChunk({ role: 'assistant', content: 'Hel' }) + sseChunk({ content: 'lo' }) + 'data: {nope\n\n' + 'data: [DONE]\n\n');
      try {
        const got = await run(client({}, raw.url), wireRequest({ model: 'harombe', messages, stream: true }));
        assert.equal(got.error?.kind, 'protocol');
        assert.doesNotMatch(got.bytes, /nope/);
      } finally {
        await raw.close();
      }
    });

    it('an in-band error event → incomplete with its message, the error event never handed on', async () => {
      await fake.setFault({ type: 'error_mid_stream', afterChunks: 3, message: 'model crashed' });
      const got = await run(client(), wireRequest({ model: 'harombe', messages, stream: true }));
      assert.equal(got.error?.kind, 'incomplete');
      assert.match(got.error?.message ?? '', /the node gave up mid-answer: model crashed/);
      assert.doesNotMatch(got.bytes, /error|DONE/);
      assert.ok(got.chunks.every((c) => c.type === 'wire'));
    });

    it('a stream that ends without data: [DONE] → incomplete, and its closing events are not handed on', async () => {
      await fake.setFault({ type: 'no_final' });
      const got = await run(client(), wireRequest({ model: 'harombe', messages, stream: true }));
      assert.equal(got.error?.kind, 'incomplete');
      assert.match(got.error?.message ?? '', /data: \[DONE\]/);
      assert.doesNotMatch(got.bytes, /finish_reason":"stop"/);
    });

    it('[DONE] without its blank line is no end (the SSE spec drops an unterminated event)', async () => {
      const raw = await rawSseServer(sseChunk({ content: 'hi' }) + sseChunk({}, 'stop') + 'data: [DONE]\n');
      try {
        const got = await run(client({}, raw.url), wireRequest({ model: 'harombe', messages, stream: true }));
        assert.equal(got.error?.kind, 'incomplete');
      } finally {
        await raw.close();
      }
    });

    it('oversized → oversized', async () => {
      await fake.setFault({ type: 'oversized', bytes: 3000 });
      const got = await run(client({ maxLineBytes: 2048 }), wireRequest({ model: 'harombe', messages, stream: true }));
      assert.equal(got.error?.kind, 'oversized');
      assert.doesNotMatch(got.bytes, /xxxx/);
      assert.ok((await collect(client({ maxLineBytes: 4096 }).chat(wireRequest({ model: 'harombe', messages, stream: true })))).done);
    });

    it('die_mid_stream → incomplete', async () => {
      await fake.setFault({ type: 'die_mid_stream', afterChunks: 3 });
      await expectNodeError(client().chat(wireRequest({ model: 'harombe', messages, stream: true })), 'incomplete');
    });
  });

  it('keeps the connection for the next request after [DONE]', async () => {
    for (let i = 0; i < 30; i++) await collect(client().chat(wireRequest({ model: 'harombe', messages, stream: i % 2 === 0 })));
    assert.ok(fake.openConnections <= 2, `expected the keep-alive connection to be reused, ${fake.openConnections} open`);
  });

  describe("against Ollama's own /v1 routes", () => {
    let ollama: FakeOllama;

    beforeEach(async () => {
      ollama = await FakeOllama.start({ models: [MODEL] });
    });

    afterEach(async () => {
      await ollama.stop();
    });

    it('relays the answer byte for byte, passes the extra fields, and reads whole tool calls', async () => {
      const body = { model: 'harombe', messages, stream: true, max_tokens: 32, stop: 'END', seed: 1, response_format: { type: 'text' } };
      const got = await collect(client({}, ollama.url).chat(wireRequest(body)));
      assert.deepEqual(ollama.requests.at(-1)?.body, { ...body, model: MODEL, stream_options: { include_usage: true } });
      assert.equal(got.text, fakeReply(undefined, messages, MODEL));
      const relayed = Buffer.concat([...got.wire, got.done?.wire ?? Buffer.alloc(0)]).toString('utf8');
      assert.equal(unstamped(relayed), unstamped(await directBytes(ollama.url, { ...body, model: MODEL })));
      assert.ok((got.done?.completionTokens ?? 0) > 0);

      ollama.setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }] });
      const calls = await collect(client({}, ollama.url).chat(wireRequest({ model: 'harombe', messages, stream: true, tools: [readFile] })));
      assert.deepEqual(
        calls.toolCalls.map((c) => [c.name, c.arguments]),
        [['read_file', { path: 'a.ts' }]],
      );
      assert.equal(calls.done?.doneReason, 'tool_calls');
    });
  });
});
