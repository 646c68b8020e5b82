import { strict as assert } from 'node:assert';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { testTokens } from '../../security/testTokens';
import { startGateway, type GatewayHarness } from './gatewayHarness';

/** A request no node's window holds: the gateway answers 400 in the client's API shape, and no node hears of it. */
describe('gateway: a request larger than every window', function () {
  this.timeout(30_000);
  let h: GatewayHarness;
  const huge = 'const x = foo(bar[1], {a: 2});\n'.repeat(4000);

  beforeEach(async () => {
    h = await startGateway([
      { name: 'laptop', tier: 0, contextLength: 4096 },
      { name: 'workstation', tier: 1, contextLength: 8192, flavour: 'openai', openai: { contextWindow: 8192 } },
    ]);
  });
  afterEach(async () => {
    await h?.stop();
  });

  const chats = () => h.cluster.node('laptop').requests.filter((r) => r.path === '/api/chat').length + h.cluster.node('workstation').requests.filter((r) => r.path === '/v1/chat/completions').length;

  it('OpenAI API: 400 with an error object saying the size, the largest window and what to do', async () => {
    const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: testTokens.anyKey, maxRetries: 0 });
    const err = await openai.chat.completions.create({ model: 'harombe', messages: [{ role: 'user', content: huge }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpenAI.APIError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'too_large');
    assert.match(err.message, /needs ~\d+k tokens.*largest window in the cluster is 8k tokens on workstation.*Nothing was sent/s);
    assert.equal(chats(), 0);
  });

  it('Ollama API: 400 {"error": …} through the official client', async () => {
    const ollama = new Ollama({ host: h.url });
    const err = await ollama.chat({ model: 'harombe', messages: [{ role: 'user', content: huge }], stream: false }).then(
      () => undefined,
      (e: unknown) => e as { status_code?: number; error?: string },
    );
    assert.ok(err);
    assert.equal(err.status_code, 400);
    assert.match(String(err.error), /largest window in the cluster is 8k tokens/);
    assert.equal(chats(), 0);
  });
});
