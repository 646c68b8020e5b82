import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { ANSWER, REASONING, reasoning } from '../../fakes/reasoningSample';
import { testTokens } from '../../security/testTokens';
import { startGateway, type GatewayHarness } from './gatewayHarness';

const messages = [{ role: 'user' as const, content: 'Make total() shorter' }];
const reasoningField = (o: unknown, name: string): string => ((o as Record<string, unknown> | undefined)?.[name] as string | undefined) ?? '';

/** An OpenAI client's streamed answer through the gateway: the reasoning and the content, each joined. */
async function openaiStream(url: string): Promise<{ thinking: string; content: string }> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
  let thinking = '';
  let content = '';
  for await (const chunk of await client.chat.completions.create({ model: 'qwen3:32b', messages, stream: true })) {
    thinking += reasoningField(chunk.choices[0]?.delta, 'reasoning_content');
    content += chunk.choices[0]?.delta.content ?? '';
  }
  return { thinking, content };
}

describe('gateway: reasoning relayed in each API’s own form', function () {
  this.timeout(20_000);
  let h: GatewayHarness;
  afterEach(async () => {
    await h?.stop();
  });

  it('an Ollama client gets message.thinking from an OpenAI-compatible node’s reasoning_content (re-encoded), streamed and whole', async () => {
    h = await startGateway([{ name: 'vllm', tier: 2, flavour: 'openai', model: 'qwen3:32b', options: { reply: ANSWER, reasoning: reasoning('field') } }]);
    const client = new Ollama({ host: h.url });
    let thinking = '';
    let content = '';
    for await (const part of await client.chat({ model: 'qwen3:32b', messages, stream: true })) {
      thinking += part.message.thinking ?? '';
      content += part.message.content;
    }
    assert.equal(thinking, REASONING);
    assert.equal(content, ANSWER);
    const whole = await client.chat({ model: 'qwen3:32b', messages, stream: false });
    assert.equal(whole.message.thinking, REASONING);
    assert.equal(whole.message.content, ANSWER);
  });

  it('an OpenAI client gets reasoning_content from a <think> block (re-encoded), streamed and whole', async () => {
    // A Harombe 0.3.1 worker: its one JSON answer carries the tags in the content.
    h = await startGateway([{ name: 'old', tier: 2, flavour: 'python', model: 'qwen3:32b', options: { reply: ANSWER, reasoning: reasoning('content') } }]);
    const streamed = await openaiStream(h.url);
    assert.equal(streamed.thinking, `\n${REASONING}\n`);
    assert.equal(streamed.content, ANSWER);
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    const whole = await client.chat.completions.create({ model: 'qwen3:32b', messages });
    assert.equal(reasoningField(whole.choices[0]?.message, 'reasoning_content'), `\n${REASONING}\n`);
    assert.equal(whole.choices[0]?.message.content, ANSWER);
  });

  it('a client of the node’s own API gets the node’s reasoning as the node sent it (relayed)', async () => {
    h = await startGateway([{ name: 'ollama', tier: 2, model: 'qwen3:32b', options: { reply: ANSWER, reasoning: reasoning('field') } }]);
    const client = new Ollama({ host: h.url });
    const whole = await client.chat({ model: 'qwen3:32b', messages, stream: false });
    assert.equal(whole.message.thinking, REASONING);
    assert.equal(whole.message.content, ANSWER);
  });

  describe('failover while the model reasons', () => {
    async function setup(standbyReasoning: string) {
      h = await startGateway(
        [
          { name: 'dying', tier: 2, flavour: 'openai', model: 'qwen3:32b', options: { reply: ANSWER, reasoning: reasoning('field'), chunkDelayMs: 2 } },
          { name: 'standby', tier: 1, model: 'qwen3:32b', options: { reply: ANSWER, reasoning: { text: standbyReasoning, in: 'field' }, chunkDelayMs: 2 } },
        ],
        { routing: { load_balance: false }, circuit_breaker: { failure_threshold: 1000, timeout: 0.3, half_open_timeout: 2 } },
      );
      // The role chunk and four pieces of reasoning, then the socket is gone.
      await h.cluster.node('dying').setFault({ type: 'die_mid_stream', afterChunks: 5 });
    }

    it('the next node repeating the reasoning continues it: the client sees it once, then the answer', async () => {
      await setup(REASONING);
      const got = await openaiStream(h.url);
      assert.equal(got.thinking, REASONING);
      assert.equal(got.content, ANSWER);
      assert.equal(h.coordinator.metrics.snapshot().fallbacks, 1);
    });

    it('the next node reasoning differently: its reasoning is not shown as a continuation of the first one’s, the answer is whole', async () => {
      const other = 'Quite different reasoning from the standby node.';
      await setup(other);
      const got = await openaiStream(h.url);
      assert.ok(REASONING.startsWith(got.thinking) && got.thinking.length > 0, `only the first node's partial reasoning: ${JSON.stringify(got.thinking)}`);
      assert.ok(!got.thinking.includes('standby'));
      assert.equal(got.content, ANSWER);
    });
  });
});
