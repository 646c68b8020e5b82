import { strict as assert } from 'node:assert';
import { FakePythonWorker } from '../../fakes/fakePythonWorker';

describe('FakePythonWorker (Harombe 0.3.1)', () => {
  let worker: FakePythonWorker;

  beforeEach(async () => {
    worker = await FakePythonWorker.start({ model: 'llama3.1:8b' });
  });

  afterEach(() => worker.stop());

  const complete = (body: unknown) =>
    fetch(`${worker.url}/api/complete`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers /health as 0.3.1 does', async () => {
    const res = await fetch(`${worker.url}/health`);
    assert.deepEqual(await res.json(), { status: 'healthy', model: 'llama3.1:8b', version: '0.3.1' });
  });

  it('answers /api/complete with one JSON of content and null tool_calls', async () => {
    const res = await complete({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.7 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { content: string; tool_calls: unknown };
    assert.deepEqual(Object.keys(body), ['content', 'tool_calls']);
    assert.match(body.content, /^Hello from llama3\.1:8b! You said: "hi"/);
    assert.equal(body.tool_calls, null);
    assert.deepEqual(worker.requests.at(-1)?.body, { messages: [{ role: 'user', content: 'hi' }], temperature: 0.7 });
  });

  it('answers 500 {"detail"} to a tools key or to extra message keys', async () => {
    const withTools = await complete({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.7, tools: [] });
    assert.equal(withTools.status, 500);
    assert.match(((await withTools.json()) as { detail: string }).detail, /'tools'/);
    for (const extra of [{ tool_call_id: 'x' }, { name: 'n' }, { tool_calls: [] }]) {
      const res = await complete({ messages: [{ role: 'tool', content: 'r', ...extra }], temperature: 0.7 });
      assert.equal(res.status, 500, JSON.stringify(extra));
      assert.ok(typeof ((await res.json()) as { detail: unknown }).detail === 'string');
    }
  });

  it('answers 422 to a malformed body, and 404 to the Ollama API', async () => {
    assert.equal((await complete({ temperature: 0.7 })).status, 422);
    assert.equal((await complete({ messages: [{ role: 'user' }] })).status, 422);
    const chat = await fetch(`${worker.url}/api/chat`, { method: 'POST', body: '{}' });
    assert.equal(chat.status, 404);
    assert.deepEqual(await chat.json(), { detail: 'Not Found' });
  });

  it('answers the configured tool calls once', async () => {
    worker.setOptions({ toolCalls: [{ id: 'c1', name: 'read_file', arguments: { path: 'a' } }] });
    const first = (await (await complete({ messages: [{ role: 'user', content: 'x' }] })).json()) as { content: string; tool_calls: unknown };
    assert.deepEqual(first, { content: '', tool_calls: [{ id: 'c1', name: 'read_file', arguments: { path: 'a' } }] });
    const second = (await (await complete({ messages: [{ role: 'user', content: 'x' }] })).json()) as { tool_calls: unknown };
    assert.equal(second.tool_calls, null);
  });

  it('applies faults to /api/complete and health faults to /health', async () => {
    await worker.setFault({ type: 'status', status: 503 });
    assert.equal((await complete({ messages: [] })).status, 503);
    assert.equal((await fetch(`${worker.url}/health`)).status, 200);
    await worker.setFault({ type: 'none' });
    await worker.setHealthFault({ type: 'die_before_headers' });
    await assert.rejects(fetch(`${worker.url}/health`));
    assert.equal((await complete({ messages: [] })).status, 200);
  });
});
