import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakeOpenAI } from '../../fakes/fakeOpenAI';
import { countPromptTokens } from '../../fakes/fakeReply';
import { testTokens } from '../../security/testTokens';

const MODEL = 'qwen2.5:7b';
const long = (words: number) => [{ role: 'user', content: 'lorem ipsum dolor sit amet '.repeat(words / 5) }];

/** The fakes' context windows, as the real servers behave (context-window.md §1), seen through the official clients. */
describe('fake servers: context windows, checked with the official clients', function () {
  this.timeout(20_000);
  let fake: FakeOllama | FakeOpenAI | undefined;
  afterEach(async () => {
    await fake?.stop();
    fake = undefined;
  });

  it('Ollama: the default window by version (2048 ≤ 0.6.6, 4096 from 0.6.7, by VRAM from 0.15.5), shown in /api/ps', async () => {
    const cases: [string, number, number][] = [
      ['0.6.6', 8, 2048],
      ['0.6.7', 8, 4096],
      ['0.15.5', 8, 4096],
      ['0.15.5', 24, 32_768],
      ['0.15.5', 80, 32_768], // capped at the model's trained 32k
    ];
    for (const [version, vramGiB, window] of cases) {
      const f = await FakeOllama.start({ models: [MODEL], ollamaVersion: version, vramGiB });
      fake = f;
      const ollama = new Ollama({ host: f.url });
      await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: false });
      assert.equal(f.lastWindow?.window, window, `${version} with ${vramGiB} GiB`);
      const ps = await ollama.ps();
      // /api/ps has reported context_length since 0.10.0 (ollama#11331).
      assert.equal((ps.models[0] as unknown as { context_length?: number }).context_length, version.startsWith('0.6.') ? undefined : window);
      await f.stop();
    }
    fake = undefined;
  });

  it('Ollama: num_ctx is honoured and clamped to the trained maximum; /v1 ignores it', async () => {
    const f = await FakeOllama.start({ models: [MODEL], ollamaVersion: '0.12.6', modelInfo: { [MODEL]: { contextLength: 8192 } } });
    fake = f;
    const ollama = new Ollama({ host: f.url });
    await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], options: { num_ctx: 6000 }, stream: false });
    assert.equal(f.lastWindow?.window, 6000);
    await ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], options: { num_ctx: 65_536 }, stream: false });
    assert.equal(f.lastWindow?.window, 8192);
    const openai = new OpenAI({ baseURL: `${f.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], num_ctx: 8192 } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    assert.equal(f.lastWindow?.window, 4096, "/v1's window is the server default");
  });

  it('Ollama: an overflow is cut silently (prompt_eval_count ≈ half the window) unless truncate:false on 0.12.6+, which is a 400', async () => {
    for (const version of ['0.12.5', '0.12.6', '0.33.0']) {
      const f = await FakeOllama.start({ models: [MODEL], ollamaVersion: version });
      fake = f;
      const ollama = new Ollama({ host: f.url });
      const messages = long(6000);
      const cut = await ollama.chat({ model: MODEL, messages, options: { num_ctx: 4096 }, stream: false });
      assert.equal(cut.prompt_eval_count, 2050, version);
      const refused = await ollama.chat({ model: MODEL, messages, options: { num_ctx: 4096 }, stream: false, truncate: false } as Parameters<Ollama['chat']>[0] & { stream: false }).then(
        (r) => r,
        (e: { status_code?: number; error?: string }) => e,
      );
      if (version === '0.12.5') {
        assert.equal((refused as { prompt_eval_count?: number }).prompt_eval_count, 2050, 'an old server ignores truncate:false');
      } else {
        assert.equal((refused as { status_code?: number }).status_code, 400, version);
        if (version === '0.33.0') {
          const inner = JSON.parse(String((refused as { error?: string }).error)) as { error: { type: string; n_prompt_tokens: number; n_ctx: number } };
          assert.equal(inner.error.type, 'exceed_context_size_error');
          assert.equal(inner.error.n_prompt_tokens, countPromptTokens(messages));
          assert.equal(inner.error.n_ctx, 4096);
        }
      }
      await f.stop();
    }
    fake = undefined;
  });

  it('llama.cpp: /props n_ctx, /v1/models meta, /tokenize, and the 400 exceed_context_size_error', async () => {
    const f = await FakeOpenAI.start({ models: [MODEL], server: 'llamacpp', contextWindow: 4096, trainedWindow: 32_768 });
    fake = f;
    const props = (await (await fetch(`${f.url}/props`)).json()) as { default_generation_settings: { n_ctx: number } };
    assert.equal(props.default_generation_settings.n_ctx, 4096);
    const openai = new OpenAI({ baseURL: `${f.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    const models = await openai.models.list();
    assert.equal((models.data[0] as unknown as { meta: { n_ctx_train: number } }).meta.n_ctx_train, 32_768);
    const tokenized = (await (await fetch(`${f.url}/tokenize`, { method: 'POST', body: JSON.stringify({ content: 'hello world' }) })).json()) as { tokens: number[] };
    assert.equal(tokenized.tokens.length, 2);
    const messages = long(6000) as OpenAI.ChatCompletionMessageParam[];
    const err = await openai.chat.completions.create({ model: MODEL, messages }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 400);
    assert.equal(err.type, 'exceed_context_size_error');
    assert.match(err.message, new RegExp(`request \\(${countPromptTokens(messages as never)} tokens\\) exceeds the available context size \\(4096 tokens\\)`));
  });

  it("vLLM: max_model_len in /v1/models and its 400 counting prompt + max_tokens", async () => {
    const f = await FakeOpenAI.start({ models: [MODEL], server: 'vllm', contextWindow: 4096, acceptAnyModel: false });
    fake = f;
    const openai = new OpenAI({ baseURL: `${f.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    const models = await openai.models.list();
    assert.equal((models.data[0] as unknown as { max_model_len: number }).max_model_len, 4096);
    // Fits alone, not with the completion asked for.
    const messages = long(2500) as OpenAI.ChatCompletionMessageParam[];
    await openai.chat.completions.create({ model: MODEL, messages });
    const err = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 2000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 400);
    assert.match(err.message, /maximum context length is 4096 tokens\. However, you requested \d+ tokens \(\d+ in the messages, 2000 in the completion\)/);
  });
});
