import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import { OpenAI } from 'openai';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakeOpenAI } from '../../fakes/fakeOpenAI';
import { ANSWER, REASONING, reasoning } from '../../fakes/reasoningSample';
import { testTokens } from '../../security/testTokens';

const MODEL = 'qwen3:8b';
const messages = [{ role: 'user' as const, content: 'Make total() shorter' }];

/** The reasoning field of an OpenAI-compatible delta or message, which the official types do not declare. */
const reasoningField = (o: unknown, name: string): string => ((o as Record<string, unknown> | undefined)?.[name] as string | undefined) ?? '';

describe('Fakes that reason, read with the official clients', () => {
  let ollamaFake: FakeOllama | undefined;
  let openaiFake: FakeOpenAI | undefined;
  afterEach(async () => {
    await ollamaFake?.stop();
    await openaiFake?.stop();
    ollamaFake = openaiFake = undefined;
  });

  it('ollama: message.thinking streamed before the content (0.12.5+), whole when not streamed, none for think: false', async () => {
    ollamaFake = await FakeOllama.start({ models: [MODEL], reply: ANSWER, reasoning: reasoning('field') });
    const client = new Ollama({ host: ollamaFake.url });
    let thinking = '';
    let content = '';
    let sawContentFirst = false;
    for await (const part of await client.chat({ model: MODEL, messages, stream: true, think: true })) {
      if (part.message.thinking) {
        if (content) sawContentFirst = true;
        thinking += part.message.thinking;
      }
      content += part.message.content;
    }
    assert.equal(thinking, REASONING);
    assert.equal(content, ANSWER);
    assert.equal(sawContentFirst, false);
    const whole = await client.chat({ model: MODEL, messages, stream: false });
    assert.equal(whole.message.thinking, REASONING);
    assert.equal(whole.message.content, ANSWER);
    const off = await client.chat({ model: MODEL, messages, stream: false, think: false });
    assert.equal(off.message.thinking, undefined);
    assert.equal(off.message.content, ANSWER);
    const generated = await client.generate({ model: MODEL, prompt: 'x', stream: false });
    assert.equal(generated.thinking, REASONING);
    const shown = await client.show({ model: MODEL });
    assert.ok(shown.capabilities.includes('thinking'));
  });

  it('ollama: <think> in the content (before 0.12.5), the tags cut across records', async () => {
    ollamaFake = await FakeOllama.start({ models: [MODEL], reply: ANSWER, reasoning: reasoning('content') });
    const client = new Ollama({ host: ollamaFake.url });
    const parts: string[] = [];
    for await (const part of await client.chat({ model: MODEL, messages, stream: true })) parts.push(part.message.content);
    assert.equal(parts.join(''), `<think>\n${REASONING}\n</think>\n\n${ANSWER}`);
    assert.ok(!parts.includes('<think>') && !parts.includes('</think>'), 'each tag comes in two pieces');
  });

  it('ollama: think: true for a model that cannot reason is refused as Ollama refuses it', async () => {
    ollamaFake = await FakeOllama.start({ models: ['qwen2.5:7b'] });
    const client = new Ollama({ host: ollamaFake.url });
    await assert.rejects(client.chat({ model: 'qwen2.5:7b', messages, think: true }), (err: Error & { status_code?: number }) => {
      assert.equal(err.status_code, 400);
      assert.match(err.message, /does not support thinking/);
      return true;
    });
  });

  it("openai on Ollama's /v1: delta.reasoning, then the content", async () => {
    ollamaFake = await FakeOllama.start({ models: [MODEL], reply: ANSWER, reasoning: reasoning('field') });
    const client = new OpenAI({ baseURL: `${ollamaFake.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    let thinking = '';
    let content = '';
    for await (const chunk of await client.chat.completions.create({ model: MODEL, messages, stream: true })) {
      thinking += reasoningField(chunk.choices[0]?.delta, 'reasoning');
      content += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal(thinking, REASONING);
    assert.equal(content, ANSWER);
  });

  it('openai on vLLM / llama.cpp with a reasoning parser: reasoning_content, streamed and whole', async () => {
    openaiFake = await FakeOpenAI.start({ models: [MODEL], reply: ANSWER, reasoning: reasoning('field') });
    const client = new OpenAI({ baseURL: `${openaiFake.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    let thinking = '';
    let content = '';
    for await (const chunk of await client.chat.completions.create({ model: MODEL, messages, stream: true })) {
      thinking += reasoningField(chunk.choices[0]?.delta, 'reasoning_content');
      content += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal(thinking, REASONING);
    assert.equal(content, ANSWER);
    const whole = await client.chat.completions.create({ model: MODEL, messages });
    assert.equal(reasoningField(whole.choices[0]?.message, 'reasoning_content'), REASONING);
    assert.equal(whole.choices[0]?.message.content, ANSWER);
  });

  it('openai without a reasoning parser: <think> in the content', async () => {
    openaiFake = await FakeOpenAI.start({ models: [MODEL], reply: ANSWER, reasoning: reasoning('content') });
    const client = new OpenAI({ baseURL: `${openaiFake.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    const whole = await client.chat.completions.create({ model: MODEL, messages });
    assert.equal(whole.choices[0]?.message.content, `<think>\n${REASONING}\n</think>\n\n${ANSWER}`);
  });
});
