import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import { OpenAI } from 'openai';
import { FAKE_DIMENSIONS, fakeVector } from '../../fakes/embeddingAnswers';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakeOpenAI } from '../../fakes/fakeOpenAI';
import { fakeReply } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';

const EMBED = 'nomic-embed-text';
const CHAT = 'qwen2.5:7b';

describe('fake embedding and completion routes with the official clients', () => {
  let ollamaFake: FakeOllama;
  let openaiFake: FakeOpenAI;

  beforeEach(async () => {
    ollamaFake = await FakeOllama.start({ models: [CHAT, EMBED] });
    openaiFake = await FakeOpenAI.start({ models: [EMBED] });
  });

  afterEach(async () => {
    await ollamaFake.stop();
    await openaiFake.stop();
  });

  it('FakeOllama: embed() normalised vectors in order, embeddings() the raw one, empty input answers none', async () => {
    const ollama = new Ollama({ host: ollamaFake.url });
    const res = await ollama.embed({ model: EMBED, input: ['a', 'b'] });
    assert.deepEqual(res.embeddings, [fakeVector(EMBED, 'a'), fakeVector(EMBED, 'b')]);
    const norm = Math.hypot(...(res.embeddings[0] as number[]));
    assert.ok(Math.abs(norm - 1) < 1e-6, 'normalised');
    assert.equal(res.embeddings[0]?.length, FAKE_DIMENSIONS);
    assert.deepEqual((await ollama.embeddings({ model: EMBED, prompt: 'a' })).embedding, fakeVector(EMBED, 'a', false));
    assert.deepEqual((await ollama.embed({ model: EMBED, input: [] })).embeddings, []);
  });

  it('FakeOllama: a chat model is refused as Ollama refuses a model without pooling, an unknown model is a 404', async () => {
    const ollama = new Ollama({ host: ollamaFake.url });
    await assert.rejects(ollama.embed({ model: CHAT, input: 'x' }), (err: Error & { status_code?: number }) => err.status_code === 500 && /does not support embeddings/.test(err.message));
    await assert.rejects(ollama.embed({ model: 'nope', input: 'x' }), (err: Error & { status_code?: number }) => err.status_code === 404);
  });

  it('FakeOllama /v1: embeddings.create() in base64 (the SDK default) and float; completions.create() streamed and whole', async () => {
    const openai = new OpenAI({ baseURL: `${ollamaFake.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    const b64 = await openai.embeddings.create({ model: EMBED, input: ['x', 'y'] });
    assert.deepEqual(b64.data.map((d) => Array.from(d.embedding)), [fakeVector(EMBED, 'x'), fakeVector(EMBED, 'y')]);
    const floats = await openai.embeddings.create({ model: EMBED, input: 'x', encoding_format: 'float' });
    assert.deepEqual(floats.data[0]?.embedding, fakeVector(EMBED, 'x'));
    const whole = await openai.completions.create({ model: CHAT, prompt: 'Once upon' });
    assert.equal(whole.choices[0]?.text, fakeReply(undefined, [{ role: 'user', content: 'Once upon' }], CHAT));
    let text = '';
    let usage = 0;
    for await (const c of await openai.completions.create({ model: CHAT, prompt: 'Once upon', stream: true, stream_options: { include_usage: true } })) {
      text += c.choices[0]?.text ?? '';
      if (c.usage) usage++;
    }
    assert.equal(text, whole.choices[0]?.text);
    assert.equal(usage, 1);
    // qwen2.5:7b does not fill in the middle: Ollama's 400 through its /v1 layer.
    await assert.rejects(openai.completions.create({ model: CHAT, prompt: 'a', suffix: 'b' }), /does not support insert/);
  });

  it('FakeOpenAI: embeddings when its model embeds; a chat model server answers llama-server\'s 501', async () => {
    const openai = new OpenAI({ baseURL: `${openaiFake.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    const res = await openai.embeddings.create({ model: EMBED, input: ['p', 'q', 'r'] });
    assert.deepEqual(res.data.map((d) => d.index), [0, 1, 2]);
    assert.deepEqual(res.data.map((d) => Array.from(d.embedding)), ['p', 'q', 'r'].map((t) => fakeVector(EMBED, t)));
    const chatServer = await FakeOpenAI.start({ models: [CHAT] });
    try {
      const other = new OpenAI({ baseURL: `${chatServer.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
      await assert.rejects(other.embeddings.create({ model: CHAT, input: 'x' }), (err: Error & { status?: number }) => err.status === 501 && /--embeddings/.test(err.message));
    } finally {
      await chatServer.stop();
    }
  });
});
