import { strict as assert } from 'node:assert';
import { Agent } from 'undici';
import { CompleteClient } from '../../../src/core/inference/completeClient';
import type { ChatRequest } from '../../../src/core/inference/types';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakePythonWorker } from '../../fakes/fakePythonWorker';
import { fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';
import { collect, endpointFor, expectNodeError } from './clientHarness';

const MODEL = 'qwen2.5:7b';
const hello: ChatRequest = { model: MODEL, messages: [{ role: 'user', content: 'Say hello' }] };

/** A whole agent round: everything the 0.3.1 worker would answer 500 to if sent as is. */
const agentRound: ChatRequest = {
  model: MODEL,
  temperature: 0.3,
  tools: [{ name: 'read_file', description: 'Read a file', parameters: { type: 'object' } }],
  messages: [
    { role: 'system', content: 'You are helpful.' },
    { role: 'user', content: 'What is in a.txt?' },
    { role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 'call_1', name: 'read_file', arguments: { path: 'a.txt' } }] },
    { role: 'tool', content: 'hello world', tool_call_id: 'call_1', name: 'read_file' },
  ],
};

describe('CompleteClient', () => {
  let worker: FakePythonWorker;
  let agent: Agent;

  beforeEach(async () => {
    worker = await FakePythonWorker.start();
    agent = new Agent();
  });

  afterEach(async () => {
    await worker.stop();
    await agent.destroy();
  });

  const client = (overrides = {}) => new CompleteClient(endpointFor(worker.url, overrides), agent);

  it('gets one answer from a Harombe 0.3.1 worker as a delta and done', async () => {
    const got = await collect(client().chat(hello));
    assert.equal(got.text, fakeReply(undefined, hello.messages, MODEL));
    assert.deepEqual(
      got.chunks.map((c) => c.type),
      ['delta', 'done'],
    );
    assert.equal(got.done?.doneReason, 'stop');
  });

  it('sends exactly {messages:[{role,content}], temperature}, defaulting the temperature to 0.7', async () => {
    await collect(client().chat(hello));
    const req = worker.requests.at(-1);
    assert.equal(req?.path, '/api/complete');
    assert.equal(req?.rawBody, '{"messages":[{"role":"user","content":"Say hello"}],"temperature":0.7}');
  });

  it('folds tool traffic into plain messages, sends no tools key, and the worker accepts it', async () => {
    const got = await collect(client().chat(agentRound));
    assert.ok(got.done, 'no 500 from the worker');
    const body = worker.requests.at(-1)?.body as { messages: Record<string, unknown>[]; temperature: number };
    assert.deepEqual(Object.keys(body), ['messages', 'temperature']);
    assert.equal(body.temperature, 0.3);
    for (const m of body.messages) assert.deepEqual(Object.keys(m), ['role', 'content']);
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ['system', 'user', 'assistant', 'user'],
    );
    assert.match(String(body.messages[2]?.content), /^Let me look\.\nCalled tool read_file with \{"path":"a\.txt"\}$/);
    assert.match(String(body.messages[3]?.content), /read_file/);
    assert.match(String(body.messages[3]?.content), /hello world$/);
  });

  it('proves the fake is strict: the same round sent raw is a 500 → http', async () => {
    const res = await fetch(`${worker.url}/api/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: agentRound.messages, temperature: 0.3 }),
    });
    assert.equal(res.status, 500);
    assert.match(((await res.json()) as { detail: string }).detail, /tool_calls/);
  });

  it('yields the tool calls the worker answers with', async () => {
    worker.setOptions({ toolCalls: [{ id: 'call_9', name: 'read_file', arguments: { path: 'b.txt' } }] });
    const got = await collect(client().chat(hello));
    assert.equal(got.text, '');
    assert.deepEqual(got.toolCalls, [{ id: 'call_9', name: 'read_file', arguments: { path: 'b.txt' } }]);
    assert.equal(got.done?.doneReason, 'tool_calls');
    // Answered once; the next request gets text again.
    assert.ok((await collect(client().chat(hello))).text.length > 0);
  });

  it('works against a worker of ours (/api/complete on a FakeOllama in worker mode)', async () => {
    const ours = await FakeOllama.start({ worker: { model: 'qwen2.5:14b', tier: 1 } });
    try {
      const got = await collect(new CompleteClient(endpointFor(ours.url), agent).chat(agentRound));
      const sent = ours.requests.at(-1);
      assert.equal(sent?.path, '/api/complete');
      assert.equal(got.text, fakeReply(undefined, (sent?.body as { messages: [] }).messages, 'qwen2.5:14b'));
      assert.match(got.text, /^Hello from qwen2\.5:14b! You said: "Result of read_file/);
    } finally {
      await ours.stop();
    }
  });

  it('sends the bearer token; a wrong one → auth', async () => {
    worker.setOptions({ token: testTokens.worker });
    assert.ok((await collect(client({ token: testTokens.worker }).chat(hello))).done);
    assert.equal(worker.requests.at(-1)?.headers.authorization, `Bearer ${testTokens.worker}`);
    const err = await expectNodeError(client({ token: testTokens.wrong }).chat(hello), 'auth');
    assert.match(err.message, /Invalid or missing token/);
  });

  it('an answer without a content string → protocol', async () => {
    await worker.setFault({ type: 'status', status: 200, body: { text: 'hi' } });
    await expectNodeError(client().chat(hello), 'protocol');
  });

  describe('faults', () => {
    const cases: [Parameters<FakePythonWorker['setFault']>[0], string][] = [
      [{ type: 'refuse' }, 'refused'],
      [{ type: 'die_before_headers' }, 'refused'],
      [{ type: 'die_mid_stream', afterChunks: 0 }, 'incomplete'],
      [{ type: 'hang' }, 'stall'],
      [{ type: 'trickle', intervalMs: 600 }, 'stall'],
      [{ type: 'status', status: 500 }, 'http'],
      [{ type: 'status', status: 503 }, 'busy'],
      [{ type: 'status', status: 429, retryAfter: 1 }, 'rate_limited'],
      [{ type: 'garbage' }, 'protocol'],
      [{ type: 'no_final' }, 'incomplete'],
    ];
    for (const [fault, kind] of cases) {
      it(`${JSON.stringify(fault)} → ${kind}`, async () => {
        await worker.setFault(fault);
        await expectNodeError(client().chat(hello), kind as Parameters<typeof expectNodeError>[1]);
      });
    }

    it('oversized → oversized beyond maxLineBytes, fine below', async () => {
      await worker.setFault({ type: 'oversized', bytes: 10_000 });
      await expectNodeError(client({ maxLineBytes: 8192 }).chat(hello), 'oversized');
      const got = await collect(client({ maxLineBytes: 20_000 }).chat(hello));
      assert.equal(got.text.length, 10_000);
    });

    it('the 500 of a real 0.3.1 worker carries its detail into the message', async () => {
      await worker.setFault({ type: 'status', status: 500, body: { detail: 'Completion failed: CUDA out of memory' } });
      const err = await expectNodeError(client().chat(hello), 'http');
      assert.match(err.message, /CUDA out of memory/);
    });
  });

  it('abort while the worker thinks → aborted, and the worker sees the connection close', async () => {
    await worker.setFault({ type: 'hang' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expectNodeError(client({ stallTimeoutMs: 5000 }).chat({ ...hello, signal: controller.signal }), 'aborted');
    await worker.waitForClientAbort();
  });
});
