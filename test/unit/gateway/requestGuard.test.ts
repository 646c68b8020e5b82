import { strict as assert } from 'node:assert';
import { isLoopbackHost } from '../../../src/core/gateway/requestGuard';
import { testTokens } from '../../security/testTokens';
import { startGateway, type GatewayHarness } from './gatewayHarness';
import { rawRequest } from './httpRequest';

describe('gateway: Host, Origin and token guard', function () {
  this.timeout(20_000);
  let h: GatewayHarness;
  afterEach(async () => {
    await h?.stop();
  });

  it('knows loopback names and addresses', () => {
    for (const host of ['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost.']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['evil.example', '192.168.1.10', '0.0.0.0', '127.0.0.1.evil.example', 'localhost.evil.example', '', '::']) assert.ok(!isLoopbackHost(host), host);
  });

  it('refuses a foreign Host (DNS rebinding) with 403 and a JSON error, in each API\'s shape', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }]);
    const body = JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'x' }], stream: false });
    const ollama = await rawRequest(h.url, { method: 'POST', path: '/api/chat', headers: { Host: 'evil.example:11435' }, body });
    assert.equal(ollama.status, 403);
    assert.match((JSON.parse(ollama.body) as { error: string }).error, /Host "evil.example:11435" is not a loopback name/);
    const openai = await rawRequest(h.url, { method: 'POST', path: '/v1/chat/completions', headers: { Host: 'rebind.attacker.test' }, body });
    assert.equal(openai.status, 403);
    assert.match((JSON.parse(openai.body) as { error: { message: string } }).error.message, /not a loopback name/);
    assert.equal(h.cluster.node('a').requests.filter((r) => r.path === '/api/chat').length, 0, 'nothing reached a node');
    for (const host of ['localhost:1234', '127.0.0.1', '[::1]:80']) {
      const ok = await rawRequest(h.url, { path: '/api/version', headers: { Host: host } });
      assert.equal(ok.status, 200, host);
    }
  });

  it('refuses a foreign Origin with 403 and allows local pages and VS Code webviews (with CORS headers)', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }]);
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example']) {
      const res = await rawRequest(h.url, { path: '/api/tags', headers: { Origin: origin } });
      assert.equal(res.status, 403, origin);
      assert.match((JSON.parse(res.body) as { error: string }).error, /Origin .* may not use the gateway/);
    }
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', 'vscode-webview://abc123']) {
      const res = await rawRequest(h.url, { path: '/api/tags', headers: { Origin: origin } });
      assert.equal(res.status, 200, origin);
      assert.equal(res.headers['access-control-allow-origin'], origin);
    }
    const preflight = await rawRequest(h.url, { method: 'OPTIONS', path: '/v1/chat/completions', headers: { Origin: 'http://localhost:5173' } });
    assert.equal(preflight.status, 204);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
  });

  it('requires the bearer token when one is set, except on /health', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }], {}, { token: testTokens.gateway });
    const none = await rawRequest(h.url, { path: '/v1/models' });
    assert.equal(none.status, 401);
    assert.equal((JSON.parse(none.body) as { error: { code: string } }).error.code, 'invalid_api_key');
    assert.equal((await rawRequest(h.url, { path: '/v1/models', headers: { Authorization: `Bearer ${testTokens.wrong}` } })).status, 401);
    assert.equal((await rawRequest(h.url, { path: '/v1/models', headers: { Authorization: `Bearer ${testTokens.gateway}` } })).status, 200);
    assert.equal((await rawRequest(h.url, { path: '/health' })).status, 200);
  });
});
