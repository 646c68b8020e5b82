import { strict as assert } from 'node:assert';
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { startGateway, type GatewayHarness } from './gatewayHarness';
import { rawRequest } from './httpRequest';

const chatBody = JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'x' }], stream: false });

/** Sends a body of `size` bytes in chunks without a Content-Length; resolves with the status and how long it took. */
function chunkedUpload(url: string, size: number, maxBytes: number): Promise<{ status: number; ms: number; sent: number }> {
  const u = new URL(url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/api/chat', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, sent }));
    });
    req.on('error', (err) => (sent >= maxBytes ? resolve({ status: -1, ms: Date.now() - started, sent }) : reject(err)));
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = (): void => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('gateway: abuse', function () {
  this.timeout(30_000);
  let h: GatewayHarness;
  afterEach(async () => {
    await h?.stop();
  });

  it('refuses non-loopback Hosts and foreign Origins with 403, on every route, before any node is asked', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }]);
    const routes: [string, string][] = [['POST', '/api/chat'], ['POST', '/api/generate'], ['GET', '/api/tags'], ['POST', '/v1/chat/completions'], ['GET', '/v1/models'], ['POST', '/cluster/execute'], ['GET', '/cluster/status'], ['GET', '/metrics']];
    const hosts = ['evil.example', '192.168.1.10:11435', '0.0.0.0', '127.0.0.1.nip.io', 'localhost.evil.example', 'LOCALHOST.evil', '[::ffff:8.8.8.8]'];
    const origins = ['https://evil.example', 'null', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example', 'file://', 'chrome-extension://abc'];
    let n = 0;
    for (const [method, path] of routes) {
      for (const host of hosts) {
        const res = await rawRequest(h.url, { method, path, headers: { Host: host, 'Content-Type': 'application/json' }, body: method === 'POST' ? chatBody : undefined });
        assert.equal(res.status, 403, `${method} ${path} Host ${host}`);
        n++;
      }
      for (const origin of origins) {
        const res = await rawRequest(h.url, { method, path, headers: { Origin: origin, 'Content-Type': 'application/json' }, body: method === 'POST' ? chatBody : undefined });
        assert.equal(res.status, 403, `${method} ${path} Origin ${origin}`);
        n++;
      }
    }
    assert.equal(n, routes.length * (hosts.length + origins.length));
    assert.equal(h.cluster.node('a').requests.filter((r) => ['/api/chat', '/api/generate', '/v1/chat/completions', '/api/complete'].includes(r.path)).length, 0, 'nothing reached a node');
  });

  it('answers 413 quickly to an oversized body, declared or chunked, without reading it all', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }], {}, { maxBodyBytes: 1024 });
    const big = JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'x'.repeat(512 * 1024) }] });
    let t = Date.now();
    const declared = await rawRequest(h.url, { method: 'POST', path: '/api/chat', headers: { 'Content-Type': 'application/json' }, body: big }).catch((err: Error) => ({ status: -1, body: err.message }));
    const declaredMs = Date.now() - t;
    assert.equal(declared.status, 413, declared.body);
    assert.ok(declaredMs < 1000, `413 took ${declaredMs} ms`);
    t = Date.now();
    // 64 MiB offered; the gateway must answer long before it could have read it.
    const chunked = await chunkedUpload(h.url, 64 * 1024 * 1024, 1024);
    assert.ok(chunked.status === 413 || chunked.status === -1, `chunked upload got ${chunked.status}`);
    assert.ok(chunked.ms < 3000, `chunked 413 took ${chunked.ms} ms`);
    assert.equal(h.cluster.node('a').requests.filter((r) => r.path === '/api/chat').length, 0);
  });

  it('keeps answering a normal client in < 1 s while 50 slowloris sockets dribble headers', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }]);
    const u = new URL(h.url);
    const sockets: Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        const s = connect(Number(u.port), u.hostname);
        s.on('error', () => undefined);
        sockets.push(s);
        const head = `GET /api/tags HTTP/1.1\r\nHost: localhost\r\nX-Slow-${i}: `;
        let k = 0;
        s.write(head);
        timers.push(setInterval(() => s.writable && s.write(String(k++ % 10)), 1000));
      }
      await new Promise((r) => setTimeout(r, 1500));
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = Date.now();
        const res = await rawRequest(h.url, { method: 'POST', path: '/api/chat', headers: { 'Content-Type': 'application/json' }, body: chatBody });
        latencies.push(Date.now() - t);
        assert.equal(res.status, 200, res.body);
      }
      assert.ok(Math.max(...latencies) < 1000, `latencies ${latencies.join(', ')} ms`);
    } finally {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
    }
  });

  // Streamed answers may last minutes (requestTimeout 0), so only unfinished headers are cut short.
  it('closes a socket that has not finished its headers within 10 s', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }]);
    const u = new URL(h.url);
    const s = connect(Number(u.port), u.hostname);
    s.on('error', () => undefined);
    s.write('GET /api/tags HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const timer = setInterval(() => s.writable && s.write('a'), 1000);
    const closedAfter = await new Promise<number>((resolve) => {
      const t = Date.now();
      s.on('close', () => resolve(Date.now() - t));
      setTimeout(() => resolve(Infinity), 15_000);
    });
    clearInterval(timer);
    s.destroy();
    assert.ok(closedAfter <= 12_000, `slow-header socket still open after ${closedAfter} ms`);
  });
});
