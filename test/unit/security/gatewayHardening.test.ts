import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { GatewayOptions } from '../../../src/core/gateway/gatewayServer';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { startGateway, type GatewayHarness } from '../gateway/gatewayHarness';
import { rawRequest } from '../gateway/httpRequest';
import { testTokens } from '../../security/testTokens';
import { openRaw } from './rawSocket';

/** Issue 20: the gateway (`harombe serve`) against slow, greedy and malformed clients. */

const TOKEN: string = testTokens.gateway;
const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'hi' }], stream: false, ...extra });

describe('gateway hardening (issue 20)', function () {
  this.timeout(20_000);
  let h: GatewayHarness | undefined;
  const start = async (opts: Partial<GatewayOptions> = {}, chunkDelayMs?: number) => {
    h = await startGateway([{ name: 'a', tier: 0, ...(chunkDelayMs !== undefined && { options: { chunkDelayMs } }) }], {}, opts);
    return h;
  };
  const nodeSaw = () => h!.cluster.node('a').requests.filter((r) => r.path === '/api/chat' || r.path === '/v1/chat/completions').length;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  describe('slow clients', () => {
    it('closes a socket that never finishes its headers', async () => {
      const g = await start({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
      const s = await openRaw(g.url);
      s.socket.write('POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      await s.closed;
    });

    it('closes a socket whose body never arrives, and no node is asked', async () => {
      const g = await start({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
      const s = await openRaw(g.url);
      s.socket.write('POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"model":');
      const got = await s.closed;
      assert.doesNotMatch(got, /^HTTP\/1\.1 200/);
      assert.equal(nodeSaw(), 0);
    });

    it('still streams an answer that takes longer than the request timeout', async () => {
      const g = await start({ headersTimeoutMs: 500, requestTimeoutMs: 1000 }, 150);
      const res = await fetch(`${g.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'a longer answer please' }] }) });
      assert.equal(res.status, 200);
      const lines = (await res.text()).trim().split('\n');
      // The fake waits 150 ms before each record, so this many records outlast the 1 s request timeout.
      assert.ok(lines.length * 150 > 1000, `only ${lines.length} records: the answer must outlast the request timeout for this test to mean anything`);
      assert.match(lines.at(-1) ?? '', /"done":true/);
    });

    it('answers 401 and closes, without reading a body that trickles', async () => {
      const g = await start({ token: TOKEN });
      const s = await openRaw(g.url);
      s.socket.write('POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n');
      const timer = setInterval(() => s.socket.write('1\r\n \r\n'), 200);
      try {
        const got = await s.closed;
        assert.match(got, /^HTTP\/1\.1 401/);
      } finally {
        clearInterval(timer);
      }
    });

    it('caps the connections it holds', async () => {
      const g = await start({ maxConnections: 2 });
      const sockets = await Promise.all(Array.from({ length: 5 }, () => openRaw(g.url)));
      await Promise.all(sockets.slice(2).map((s) => s.closed));
      for (const s of sockets.slice(0, 2)) assert.equal(s.socket.destroyed, false);
      for (const s of sockets) s.socket.destroy();
    });
  });

  describe('sizes and numbers', () => {
    it('refuses a body over the default limit (8 MiB) with 413, and no node is asked', async () => {
      const g = await start();
      const res = await rawRequest(g.url, { method: 'POST', path: '/api/chat', headers: { 'content-type': 'application/json' }, body: chatBody({ pad: 'x'.repeat(9 * 1024 * 1024) }) });
      assert.equal(res.status, 413);
      assert.equal(nodeSaw(), 0);
    });

    const bad: [path: string, body: string, field: RegExp][] = [
      ['/cluster/execute', '{"query":"hi","timeout":1e309}', /timeout/],
      ['/cluster/execute', '{"query":"hi","timeout":1e7}', /timeout/],
      ['/cluster/execute', '{"query":"hi","timeout":0.0015}', /timeout/],
      ['/api/chat', chatBody({ options: { num_ctx: 1e9 } }), /num_ctx/],
      ['/api/chat', chatBody({ options: { num_predict: -5 } }), /num_predict/],
      ['/api/chat', chatBody({ options: { temperature: -1 } }), /temperature/],
      ['/api/chat', '{"model":"harombe","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"mirostat_tau":1e400}}', /mirostat_tau/],
      ['/api/generate', JSON.stringify({ model: 'harombe', prompt: 'hi', stream: false, options: { num_ctx: 0.5 } }), /num_ctx/],
      ['/v1/chat/completions', chatBody({ max_tokens: -1 }), /max_tokens/],
      ['/v1/chat/completions', chatBody({ max_tokens: 1e12 }), /max_tokens/],
      ['/v1/chat/completions', chatBody({ temperature: 7 }), /temperature/],
      ['/v1/chat/completions', chatBody({ top_p: 'high' }), /top_p/],
    ];
    for (const [path, body, field] of bad) {
      it(`${path} with a bad ${field.source} (${body.slice(body.lastIndexOf(field.source) - 1, body.lastIndexOf(field.source) + field.source.length + 12).replace(/[}\]]+$/, '')}) → 400 naming it, no node asked`, async () => {
        const g = await start();
        const res = await rawRequest(g.url, { method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
        assert.equal(res.status, 400, res.body);
        const parsed = JSON.parse(res.body) as { error: string | { message: string; type: string } };
        if (path.startsWith('/v1/')) {
          assert.equal(typeof parsed.error, 'object');
          assert.equal((parsed.error as { type: string }).type, 'invalid_request_error');
          assert.match((parsed.error as { message: string }).message, field);
        } else {
          assert.match(parsed.error as string, field);
        }
        assert.equal(nodeSaw(), 0);
      });
    }

    it('still takes the values clients send every day', async () => {
      const g = await start();
      const ok = await rawRequest(g.url, { method: 'POST', path: '/api/chat', headers: { 'content-type': 'application/json' }, body: chatBody({ options: { num_ctx: 32768, num_predict: -1, temperature: 0.2, top_p: 0.9, seed: 42 } }) });
      assert.equal(ok.status, 200, ok.body);
      const oa = await rawRequest(g.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: chatBody({ max_tokens: 512, temperature: 1.2, presence_penalty: -0.5 }) });
      assert.equal(oa.status, 200, oa.body);
      const ex = await rawRequest(g.url, { method: 'POST', path: '/cluster/execute', headers: { 'content-type': 'application/json' }, body: '{"query":"hi","timeout":30}' });
      assert.equal(ex.status, 200, ex.body);
    });
  });

  describe('headers and the token', () => {
    it('truncates a 16 KB Host in the 403', async () => {
      const g = await start();
      const res = await rawRequest(g.url, { path: '/api/tags', headers: { host: 'h'.repeat(16_000) } });
      assert.equal(res.status, 403);
      assert.ok(res.body.length < 500, `answer of ${res.body.length} bytes`);
    });

    it('takes the bearer scheme in any case, as the worker does', async () => {
      const g = await start({ token: TOKEN });
      for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER  ${TOKEN}`]) {
        assert.equal((await rawRequest(g.url, { path: '/api/tags', headers: { authorization: header } })).status, 200, header.slice(0, 8));
      }
      assert.equal((await rawRequest(g.url, { path: '/api/tags', headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
      assert.equal((await rawRequest(g.url, { path: '/api/tags', headers: { authorization: TOKEN } })).status, 401);
    });
  });
});

describe('harombe serve --token-file (issue 20)', function () {
  this.timeout(60_000);
  const root = resolve(__dirname, '../../..');
  let cluster: FakeCluster;
  let dir: string;
  let child: ChildProcess | undefined;

  before(() => {
    execFileSync(process.execPath, [join(root, 'esbuild.mjs')], { cwd: root, stdio: 'ignore' });
  });
  beforeEach(async () => {
    cluster = await startFakeCluster([{ name: 'laptop', tier: 0 }]);
    dir = mkdtempSync(join(tmpdir(), 'harombe-serve-token-'));
    writeFileSync(join(dir, 'harombe.yaml'), cluster.yaml);
  });
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the token from the file, so it never shows in the process list', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    const proc = spawn(process.execPath, [join(root, 'dist', 'cli.js'), '--config', join(dir, 'harombe.yaml'), 'serve', '--port', '0', '--token-file', file], {
      env: { ...process.env, HAROMBE_HOME: join(dir, 'home'), HAROMBE_GATEWAY_TOKEN: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      proc.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
        if (m) resolveUrl(m[1] as string);
      });
      proc.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    assert.equal((await fetch(`${url}/api/tags`)).status, 401);
    assert.equal((await fetch(`${url}/api/tags`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    assert.equal(stderr.includes(TOKEN), false);
  });
});
