import { strict as assert } from 'node:assert';
import { Agent, request } from 'undici';
import { OllamaWireClient } from '../../../src/core/inference/ollamaWireClient';
import type { ChatRequest, WireRequest } from '../../../src/core/inference/types';
import { FakeOllama } from '../../fakes/fakeOllama';
import { fakeReply } from '../../fakes/fakeReply';
import { collect, endpointFor, expectNodeError } from './clientHarness';

const MODEL = 'qwen2.5:7b';
const messages = [{ role: 'user' as const, content: 'Say hello' }];

function wireRequest(path: string, body: Record<string, unknown>): ChatRequest {
  const wire: WireRequest = { protocol: 'ollama', path, body };
  return { model: MODEL, messages, wire };
}

/** What the node itself answers to the same body, byte for byte (the fake is deterministic apart from timestamps). */
async function directBytes(url: string, path: string, body: object): Promise<string> {
  const res = await request(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return res.body.text();
}

const withoutTimes = (ndjson: string) => ndjson.replace(/"created_at":"[^"]+"/g, '"created_at":"T"').replace(/"(total|load|prompt_eval|eval)_duration":\d+/g, '"$1_duration":0');

describe('OllamaWireClient (relaying a gateway client request)', () => {
  let fake: FakeOllama;
  let agent: Agent;

  beforeEach(async () => {
    fake = await FakeOllama.start({ models: [MODEL] });
    agent = new Agent();
  });

  afterEach(async () => {
    await fake.stop();
    await agent.destroy();
  });

  const client = (overrides = {}) => new OllamaWireClient(endpointFor(fake.url, overrides), agent);

  it('sends the client body as it came, with only model and stream replaced', async () => {
    const body = { model: 'harombe', messages, stream: false, format: 'json', keep_alive: '5m', options: { num_ctx: 8192, temperature: 0.1 }, think: false };
    await collect(client().chat(wireRequest('/api/chat', body)));
    const sent = fake.requests.at(-1);
    assert.equal(sent?.path, '/api/chat');
    assert.deepEqual(sent?.body, { ...body, model: MODEL, stream: true });
  });

  it("hands on the node's records byte for byte, the closing record last, and the text they carry", async () => {
    const body = { model: 'harombe', messages, stream: true };
    const got = await collect(client().chat(wireRequest('/api/chat', body)));
    assert.ok(got.done?.wire, 'the closing record comes with the done chunk');
    const relayed = Buffer.concat([...got.wire, got.done.wire]).toString('utf8');
    const direct = await directBytes(fake.url, '/api/chat', { ...body, model: MODEL });
    assert.equal(withoutTimes(relayed), withoutTimes(direct));
    assert.equal(got.text, fakeReply(undefined, messages, MODEL));
    assert.match(got.done.wire.toString(), /^\{.*"done":true.*\}\n$/);
    assert.ok(got.wire.every((b) => b.at(-1) === 0x0a), 'every piece ends at a record boundary');
    assert.equal(got.done.completionTokens, (direct.match(/\n/g)?.length ?? 0) - 1);
  });

  it('reads the text of /api/generate records (response, not message)', async () => {
    const got = await collect(client().chat(wireRequest('/api/generate', { model: 'harombe', prompt: 'Say hello', stream: true })));
    assert.equal(fake.requests.at(-1)?.path, '/api/generate');
    assert.ok(got.text.length > 0);
    assert.ok(got.done?.wire?.toString().includes('"done":true'));
  });

  it('cuts records split across network reads only at record boundaries (one byte per read)', async () => {
    fake.setOptions({ reply: 'Grüße 👋 naïve' });
    await fake.setFault({ type: 'trickle', intervalMs: 1 });
    const got = await collect(client({ stallTimeoutMs: 2000 }).chat(wireRequest('/api/chat', { model: 'harombe', messages })));
    assert.equal(got.text, 'Grüße 👋 naïve');
    for (const piece of got.wire) for (const line of piece.toString('utf8').split('\n').slice(0, -1)) JSON.parse(line);
  });

  it('keeps the connection for the next request after the closing record', async () => {
    for (let i = 0; i < 30; i++) await collect(client().chat(wireRequest('/api/chat', { model: 'harombe', messages })));
    // The caller may send the next request before the response's last chunk is read, so a second
    // connection can open; a client that closed its connection would open 30.
    assert.ok(fake.acceptedConnections <= 2, `${fake.acceptedConnections} connections for 30 sequential requests`);
    assert.ok(fake.openConnections >= 1, 'no connection was kept open');
  });

  it('refuses garbage, an in-band error and a missing closing record before handing their bytes on', async () => {
    await fake.setFault({ type: 'garbage' });
    await expectNodeError(client().chat(wireRequest('/api/chat', { model: 'harombe', messages })), 'protocol');
    await fake.setFault({ type: 'error_mid_stream', afterChunks: 2, message: 'model crashed' });
    const err = await expectNodeError(client().chat(wireRequest('/api/chat', { model: 'harombe', messages })), 'incomplete');
    assert.match(err.message, /model crashed/);
    await fake.setFault({ type: 'no_final' });
    await expectNodeError(client().chat(wireRequest('/api/chat', { model: 'harombe', messages })), 'incomplete');
  });

  it('passes tool calls on as records and reports them', async () => {
    fake.setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: 'a.ts' } }] });
    const got = await collect(client().chat(wireRequest('/api/chat', { model: 'harombe', messages, tools: [{ type: 'function', function: { name: 'read_file', parameters: {} } }] })));
    assert.deepEqual(
      got.toolCalls.map((c) => [c.name, c.arguments]),
      [['read_file', { path: 'a.ts' }]],
    );
    assert.ok(Buffer.concat(got.wire).toString().includes('"tool_calls"'));
  });
});
