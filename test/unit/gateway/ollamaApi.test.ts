import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import { fakeReply } from '../../fakes/fakeReply';
import { startGateway, type GatewayHarness } from './gatewayHarness';

const expected = (model: string, prompt: string) => fakeReply(undefined, [{ role: 'user', content: prompt }], model);

describe('gateway: Ollama API with the official ollama client', function () {
  this.timeout(20_000);
  let h: GatewayHarness;
  let ollama: Ollama;

  beforeEach(async () => {
    h = await startGateway([
      { name: 'laptop', tier: 0 },
      { name: 'workstation', tier: 1 },
      { name: 'server', tier: 2 },
    ]);
    ollama = new Ollama({ host: h.url });
  });
  afterEach(async () => {
    await h?.stop();
  });

  it('answers a non-streamed chat with the answer of the forced tier', async () => {
    const res = await ollama.chat({ model: 'harombe:tier2', messages: [{ role: 'user', content: 'hi there' }], stream: false });
    assert.equal(res.message.role, 'assistant');
    assert.equal(res.message.content, expected('qwen2.5:72b', 'hi there'));
    assert.equal(res.done, true);
    assert.equal(res.done_reason, 'stop');
    assert.equal(res.model, 'harombe:tier2');
    assert.ok(res.eval_count > 0);
  });

  it('streams a chat record by record, ending with one done record', async () => {
    const stream = await ollama.chat({ model: 'harombe:tier0', messages: [{ role: 'user', content: 'stream me' }], stream: true });
    let text = '';
    let records = 0;
    let dones = 0;
    for await (const part of stream) {
      records++;
      text += part.message.content;
      if (part.done) dones++;
    }
    assert.equal(text, expected('qwen2.5:3b', 'stream me'));
    assert.ok(records > 5, `expected many records, got ${records}`);
    assert.equal(dones, 1);
  });

  it('routes a real model name to a node that has it', async () => {
    const res = await ollama.chat({ model: 'qwen2.5:14b', messages: [{ role: 'user', content: 'which node?' }], stream: false });
    assert.equal(res.message.content, expected('qwen2.5:14b', 'which node?'));
    const sent = h.cluster.node('workstation').requests.filter((r) => r.path === '/api/chat');
    assert.equal(sent.length, 1);
    assert.equal((sent[0]?.body as { model: string }).model, 'qwen2.5:14b');
  });

  it("passes the client's own options to an Ollama node (format, options, keep_alive), only the model replaced", async () => {
    const res = await ollama.chat({
      model: 'harombe:tier1',
      messages: [{ role: 'user', content: 'as json' }],
      format: 'json',
      keep_alive: '10m',
      options: { num_ctx: 16384, temperature: 0.3, seed: 7 },
      stream: true,
    });
    for await (const _ of res) {
      // drain
    }
    const sent = h.cluster.node('workstation').requests.filter((r) => r.path === '/api/chat');
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.body, {
      model: 'qwen2.5:14b',
      messages: [{ role: 'user', content: 'as json' }],
      format: 'json',
      keep_alive: '10m',
      options: { num_ctx: 16384, temperature: 0.3, seed: 7 },
      stream: true,
      // Added by Harombe: an overflow is refused instead of cut (the client's own num_ctx is kept).
      truncate: false,
    });
  });

  it("runs a client's request without num_ctx in the node's window, with truncate:false (a client's own truncate is kept)", async () => {
    for await (const _ of await ollama.chat({ model: 'harombe:tier1', messages: [{ role: 'user', content: 'hi' }], options: { seed: 1 }, stream: true })) {
      // drain
    }
    const window = h.coordinator.nodes().find((n) => n.name === 'workstation')?.contextWindow.tokens;
    const sent = h.cluster.node('workstation').requests.filter((r) => r.path === '/api/chat').at(-1)?.body as Record<string, unknown>;
    assert.deepEqual(sent.options, { seed: 1, num_ctx: window });
    assert.equal(sent.truncate, false);
    const own = await fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe:tier1', messages: [{ role: 'user', content: 'hi' }], truncate: true }) });
    await own.text();
    assert.equal((h.cluster.node('workstation').requests.filter((r) => r.path === '/api/chat').at(-1)?.body as Record<string, unknown>).truncate, true);
  });

  it("streams the node's own records byte for byte (no re-encoding on the hot path)", async () => {
    const body = { model: 'harombe:tier0', messages: [{ role: 'user', content: 'stream it' }], stream: true };
    const viaGateway = await (await fetch(`${h.url}/api/chat`, { method: 'POST', body: JSON.stringify(body) })).text();
    const direct = await (await fetch(`${h.cluster.node('laptop').url}/api/chat`, { method: 'POST', body: JSON.stringify({ ...body, model: 'qwen2.5:3b' }) })).text();
    const untimed = (s: string) => s.replace(/"created_at":"[^"]+"/g, '"created_at":"T"').replace(/"(total|load|prompt_eval|eval)_duration":\d+/g, '"$1_duration":0');
    assert.equal(untimed(viaGateway), untimed(direct));
    assert.ok(viaGateway.split('\n').length > 5);
  });

  it('lets the classifier route `harombe` and `harombe:auto`', async () => {
    for (const model of ['harombe', 'harombe:auto']) {
      const res = await ollama.chat({ model, messages: [{ role: 'user', content: 'hello' }], stream: false });
      assert.match(res.message.content, /^Hello from qwen2\.5:/);
    }
  });

  it('passes tool calls through, streamed and whole', async () => {
    for (const name of ['laptop', 'workstation', 'server']) h.cluster.ollama(name).setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }] });
    const tools = [{ type: 'function', function: { name: 'read_file', description: 'read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } }];
    const whole = await ollama.chat({ model: 'harombe:tier1', messages: [{ role: 'user', content: 'open a.ts' }], tools, stream: false });
    assert.deepEqual(whole.message.tool_calls, [{ function: { name: 'read_file', arguments: { path: 'a.ts' } } }]);

    const stream = await ollama.chat({ model: 'harombe:tier1', messages: [{ role: 'user', content: 'open a.ts' }], tools, stream: true });
    const calls = [];
    for await (const part of stream) calls.push(...(part.message.tool_calls ?? []));
    assert.deepEqual(calls, [{ function: { name: 'read_file', arguments: { path: 'a.ts' } } }]);

    // The tool result goes back to the node with the tool's name, as Ollama wants it.
    await ollama.chat({
      model: 'harombe:tier1',
      messages: [
        { role: 'user', content: 'open a.ts' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'read_file', arguments: { path: 'a.ts' } } }] },
        { role: 'tool', content: 'export {}', tool_name: 'read_file' } as never,
      ],
      tools,
      stream: false,
    });
    const last = h.cluster.node('workstation').requests.filter((r) => r.path === '/api/chat').at(-1);
    const messages = (last?.body as { messages: { role: string; tool_name?: string }[] }).messages;
    assert.equal(messages.at(-1)?.role, 'tool');
    assert.equal(messages.at(-1)?.tool_name, 'read_file');
  });

  it('generates, streamed and whole', async () => {
    const whole = await ollama.generate({ model: 'harombe:tier0', prompt: 'say it', stream: false });
    assert.equal(whole.response, expected('qwen2.5:3b', 'say it'));
    const stream = await ollama.generate({ model: 'harombe:tier0', prompt: 'say it', stream: true });
    let text = '';
    for await (const part of stream) text += part.response;
    assert.equal(text, expected('qwen2.5:3b', 'say it'));
  });

  it('lists the gateway names and the nodes\' models, /api/ps and /api/version', async () => {
    const list = await ollama.list();
    const names = list.models.map((m) => m.name);
    for (const n of ['harombe', 'harombe:tier0', 'harombe:tier1', 'harombe:tier2', 'qwen2.5:3b', 'qwen2.5:14b', 'qwen2.5:72b']) assert.ok(names.includes(n), n);
    const ps = await ollama.ps();
    assert.ok(ps.models.some((m) => m.name === 'qwen2.5:72b'));
    const version = await ollama.version();
    assert.match(version.version, /^\d+\.\d+\.\d+$/);
  });

  it('answers an unknown model with 404 and the names it knows', async () => {
    await assert.rejects(ollama.chat({ model: 'llama9:400b', messages: [{ role: 'user', content: 'x' }], stream: false }), (err: Error & { status_code?: number }) => {
      assert.equal(err.status_code, 404);
      assert.match(err.message, /model "llama9:400b" not found.*harombe:tier0/);
      return true;
    });
  });

  it('sends X-Harombe-Node, -Tier and -Reason on streamed and whole answers', async () => {
    for (const stream of [true, false]) {
      const res = await fetch(`${h.url}/api/chat`, {
        method: 'POST',
        body: JSON.stringify({ model: 'harombe:tier2', messages: [{ role: 'user', content: 'hi' }], stream }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-harombe-node'), 'server');
      assert.equal(res.headers.get('x-harombe-tier'), '2');
      assert.match(res.headers.get('x-harombe-reason') ?? '', /tier 2 chosen by user/);
      assert.equal(res.headers.get('content-type'), stream ? 'application/x-ndjson' : 'application/json; charset=utf-8');
      // As Ollama's own answers: no Cache-Control (the OpenAI routes' SSE has one).
      assert.equal(res.headers.get('cache-control'), null);
      await res.text();
    }
  });
});
