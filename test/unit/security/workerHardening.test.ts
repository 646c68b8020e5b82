import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStderrLogger } from '../../../src/cli/stderrLogger';
import { verifyKeyProof } from '../../../src/core/nodes/nodeKey';
import { WorkerKey } from '../../../src/node/workerKey';
import { WorkerServer, type WorkerServerOptions } from '../../../src/node/workerServer';
import { FakeOllama } from '../../fakes/fakeOllama';
import { rawRequest } from '../gateway/httpRequest';
import { testTokens } from '../../security/testTokens';
import { openRaw } from './rawSocket';

/** Issue 20: the worker (`harombe start`) against hostile clients, each case refused before Ollama sees it. */

const TOKEN: string = testTokens.worker;
const MODEL = 'qwen2.5:14b';

describe('worker hardening (issue 20)', function () {
  this.timeout(20_000);
  const log: string[] = [];
  const logger = createStderrLogger('debug', (line) => log.push(line));
  let fake: FakeOllama;
  let home: string;
  const workers: WorkerServer[] = [];

  async function start(over: Partial<WorkerServerOptions> = {}): Promise<WorkerServer> {
    const w = await WorkerServer.start({
      host: '127.0.0.1',
      port: 0,
      ollamaUrl: fake.url,
      token: TOKEN,
      model: MODEL,
      tier: 1,
      version: '0.1.0',
      nodeId: 'node-hard-1',
      maxParallel: 4,
      temperature: 0.7,
      upstreamTimeoutMs: 5000,
      logger,
      detectHardware: async () => ({ cpu: 'Test CPU', cores: 4 }),
      healthCacheMs: 0,
      ...over,
    });
    workers.push(w);
    await w.health.start();
    return w;
  }
  const auth = { authorization: `Bearer ${TOKEN}` };
  const ollamaSaw = (path: string) => fake.requests.filter((r) => r.path === path || r.path.startsWith(path)).length;

  beforeEach(async () => {
    fake = await FakeOllama.start({ models: [MODEL] });
    home = mkdtempSync(join(tmpdir(), 'harombe-hard-'));
    log.length = 0;
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop(0);
    await fake.stop();
    rmSync(home, { recursive: true, force: true });
  });

  describe('host key (LAN impostors)', () => {
    it('makes an ed25519 key on first start, 0600, and reuses it', () => {
      const a = WorkerKey.loadOrCreate(home, logger);
      const file = join(home, 'node_key.pem');
      if (process.platform !== 'win32') assert.equal(statSync(file).mode & 0o777, 0o600);
      const b = WorkerKey.loadOrCreate(home, logger);
      assert.equal(b.fingerprint, a.fingerprint);
      assert.match(a.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    });

    it('signs the nonce of /health?challenge= with its key, so only the key holder can answer', async () => {
      const key = WorkerKey.loadOrCreate(home, logger);
      const w = await start({ key });
      const nonce = 'n'.repeat(16) + Date.now().toString(36);
      const body = (await (await fetch(`${w.url}/health?challenge=${nonce}`)).json()) as { key?: unknown };
      const proof = verifyKeyProof(body.key, nonce);
      assert.deepEqual(proof, { ok: true, fingerprint: key.fingerprint });
      // The same signature does not prove another nonce: a replayed answer fails.
      assert.equal(verifyKeyProof(body.key, 'another-nonce-0123456').ok, false);
    });
  });

  describe('/health without the token', () => {
    it('says status and model only; hardware, models, load and ids need the token', async () => {
      const w = await start();
      const brief = (await (await fetch(`${w.url}/health`)).json()) as Record<string, unknown>;
      assert.deepEqual(brief, { status: 'ok', model: MODEL, auth: 'required' });
      const full = (await (await fetch(`${w.url}/health`, { headers: auth })).json()) as Record<string, unknown>;
      assert.equal(full.node_id, 'node-hard-1');
      assert.deepEqual(full.models, [MODEL]);
    });

    it('refuses a wrong token with 401, so a coordinator with a stale token cannot mistake the node for healthy', async () => {
      const w = await start();
      const res = await fetch(`${w.url}/health`, { headers: { authorization: `Bearer ${TOKEN}x` } });
      assert.equal(res.status, 401);
    });
  });

  describe('route allowlist', () => {
    for (const [method, path] of [
      ['POST', '/api/pull'],
      ['DELETE', '/api/delete'],
      ['POST', '/api/create'],
      ['POST', '/api/push'],
      ['POST', '/api/copy'],
      ['POST', '/api/blobs/sha256:abc'],
    ] as const) {
      it(`${method} ${path} is refused with 403 unless the worker allows management`, async () => {
        const w = await start();
        const res = await rawRequest(w.url, { method, path, headers: { ...auth, 'content-type': 'application/json', 'content-length': '13' }, body: '{"model":"x"}' });
        assert.equal(res.status, 403, res.body);
        assert.match(res.body, /--allow-management/);
        assert.equal(ollamaSaw(path), 0);
      });
    }

    it('lets management routes through with allowManagement', async () => {
      const w = await start({ allowManagement: true });
      // Node's client sends a DELETE body without framing unless told its length.
      const res = await rawRequest(w.url, { method: 'DELETE', path: '/api/delete', headers: { ...auth, 'content-type': 'application/json', 'content-length': '13' }, body: '{"model":"x"}' });
      // The fake Ollama has no /api/delete: its 404 shows the request reached it.
      assert.equal(res.status, 404, res.body);
      assert.equal(ollamaSaw('/api/delete'), 1);
    });

    it('forwards the inference and listing routes the cluster uses', async () => {
      const w = await start();
      for (const path of ['/api/tags', '/api/ps', '/api/version', '/v1/models']) {
        const res = await rawRequest(w.url, { path, headers: auth });
        assert.equal(res.status, 200, `${path}: ${res.body}`);
      }
      const chat = await rawRequest(w.url, { method: 'POST', path: '/api/chat', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: false }) });
      assert.equal(chat.status, 200, chat.body);
    });

    for (const path of ['/api/..%2fpull', '/api/%2e%2e/pull', '/api/tags%5c..%5cpull', '/api/chat%00', '/v1/models/..%2F..%2Fapi%2Fdelete', '/api/unknown']) {
      it(`refuses ${path} before Ollama sees it`, async () => {
        const w = await start();
        const before = fake.requests.length;
        const res = await rawRequest(w.url, { method: 'POST', path, headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
        assert.ok(res.status === 400 || res.status === 404, `${res.status} ${res.body}`);
        assert.equal(fake.requests.length, before);
      });
    }
  });

  describe('DNS rebinding through a tokenless worker', () => {
    it('refuses a foreign Host with 403, before Ollama', async () => {
      const w = await start({ token: undefined, allowManagement: true });
      const before = fake.requests.length;
      const res = await rawRequest(w.url, { method: 'DELETE', path: '/api/delete', headers: { host: 'evil.example:8000', 'content-type': 'application/json', 'content-length': '13' }, body: '{"model":"x"}' });
      assert.equal(res.status, 403);
      const chat = await rawRequest(w.url, { method: 'POST', path: '/api/chat', headers: { host: 'rebind.attacker.test', 'content-type': 'application/json' }, body: '{}' });
      assert.equal(chat.status, 403);
      assert.equal(fake.requests.length, before);
    });

    it('refuses a foreign Origin with 403 and accepts loopback and VS Code origins', async () => {
      const w = await start({ token: undefined });
      const before = fake.requests.length;
      assert.equal((await rawRequest(w.url, { path: '/api/ps', headers: { origin: 'https://evil.example' } })).status, 403);
      assert.equal(fake.requests.length, before);
      assert.equal((await rawRequest(w.url, { path: '/api/ps', headers: { origin: 'http://localhost:3000' } })).status, 200);
    });

    it('truncates a 16 KB Host in the answer and the log', async () => {
      const w = await start({ token: undefined });
      const host = 'h'.repeat(16_000);
      const res = await rawRequest(w.url, { path: '/api/tags', headers: { host } });
      assert.equal(res.status, 403);
      assert.ok(res.body.length < 500, `answer of ${res.body.length} bytes`);
      const line = log.find((l) => l.includes('not a loopback name'));
      assert.ok(line, log.join('\n'));
      assert.ok(line.length < 600, `log line of ${line.length} characters`);
    });
  });

  describe('slow and greedy clients', () => {
    it('closes a socket that never finishes its headers', async () => {
      const w = await start({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
      const s = await openRaw(w.url);
      s.socket.write('GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const got = await s.closed;
      assert.match(got, /^HTTP\/1\.1 408|^$/);
    });

    it('closes a socket whose body trickles past the request timeout, even with the token', async () => {
      const w = await start({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
      const s = await openRaw(w.url);
      s.socket.write(`POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":`);
      const timer = setInterval(() => s.socket.write(' '), 200);
      try {
        await s.closed;
      } finally {
        clearInterval(timer);
      }
    });

    it('answers 401 and closes at once, without reading a body that trickles', async () => {
      const w = await start();
      const s = await openRaw(w.url);
      s.socket.write('POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n');
      const timer = setInterval(() => s.socket.write('1\r\n \r\n'), 200);
      try {
        const got = await s.closed;
        assert.match(got, /^HTTP\/1\.1 401/);
        assert.match(got, /connection: close/i);
      } finally {
        clearInterval(timer);
      }
    });

    it('caps the connections it holds', async () => {
      const w = await start({ maxConnections: 3 });
      const sockets = await Promise.all(Array.from({ length: 6 }, () => openRaw(w.url)));
      // The server closes what is over the cap as it arrives; the first three stay open.
      const closedOnes = await Promise.all(sockets.slice(3).map((s) => s.closed));
      assert.equal(closedOnes.length, 3);
      for (const s of sockets.slice(0, 3)) assert.equal(s.socket.destroyed, false);
      for (const s of sockets) s.socket.destroy();
    });

    it('refuses a body over the limit with 413 before Ollama sees it', async () => {
      const w = await start({ maxBodyBytes: 1024 });
      const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(4096) }] });
      const res = await rawRequest(w.url, { method: 'POST', path: '/api/chat', headers: { ...auth, 'content-type': 'application/json' }, body });
      assert.equal(res.status, 413);
      assert.equal(ollamaSaw('/api/chat'), 0);
      const complete = await rawRequest(w.url, { method: 'POST', path: '/api/complete', headers: { ...auth, 'content-type': 'application/json' }, body });
      assert.equal(complete.status, 413);
    });
  });
});
