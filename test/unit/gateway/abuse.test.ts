import { strict as assert } from 'node:assert';
import { connect, type Socket } from 'node:net';
import { HEADERS_TIMEOUT_MS } from '../../../src/core/gateway/gatewayServer';
import { startGateway, type GatewayHarness } from './gatewayHarness';
import { rawRequest } from './httpRequest';

const chatBody = JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'x' }], stream: false });

/**
 * Offers a POST with `head` headers, then up to `size` body bytes in 64 KiB chunks, on a raw socket,
 * and stops sending as soon as any answer arrives. Resolves with the answer's status line and how
 * many body bytes were sent by then. A raw socket (not http.request) because the gateway may close
 * the connection while the body is still coming: http.request would report that as a bare socket
 * error, which looks the same as a gateway that died without answering.
 */
function offerBody(url: string, head: Record<string, string>, size: number): Promise<{ statusLine: string; sent: number }> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    let received = '';
    let sent = 0;
    s.on('data', (d: Buffer) => (received += d.toString('latin1')));
    // A reset after the answer is fine; what matters is what arrived before it.
    s.on('error', () => undefined);
    s.on('close', () => resolve({ statusLine: received.split('\r\n')[0] ?? '', sent }));
    const headers = Object.entries({ Host: 'localhost', 'Content-Type': 'application/json', ...head }).map(([k, v]) => `${k}: ${v}\r\n`);
    s.write(`POST /api/chat HTTP/1.1\r\n${headers.join('')}Connection: close\r\n\r\n`);
    const chunked = head['Transfer-Encoding'] === 'chunked';
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = (): void => {
      while (sent < size && received === '' && !s.destroyed) {
        sent += chunk.length;
        const ok = s.write(chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk);
        if (!ok) return void s.once('drain', pump);
      }
      if (sent >= size && !s.destroyed) s.end(chunked ? '0\r\n\r\n' : '');
    };
    pump();
  });
}

describe('gateway: abuse', function () {
  this.timeout(40_000);
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

  it('answers 413 to an oversized body, declared or chunked, without waiting for it all', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }], {}, { maxBodyBytes: 1024 });
    // Declared too big and never sent: the answer can only come from the Content-Length.
    const declared = await offerBody(h.url, { 'Content-Length': String(512 * 1024) }, 0);
    assert.match(declared.statusLine, /^HTTP\/1\.1 413 /, `declared: ${declared.statusLine || 'no answer'}`);
    // 64 MiB offered, without a length: the 413 must come while the upload is still going.
    const size = 64 * 1024 * 1024;
    const chunked = await offerBody(h.url, { 'Transfer-Encoding': 'chunked' }, size);
    assert.match(chunked.statusLine, /^HTTP\/1\.1 413 /, `chunked: ${chunked.statusLine || 'no answer'}`);
    assert.ok(chunked.sent < size, 'the gateway answered only after the whole 64 MiB was sent');
    assert.equal(h.cluster.node('a').requests.filter((r) => r.path === '/api/chat').length, 0);
  });

  it('keeps answering a normal client while 50 slowloris sockets dribble headers', async () => {
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
      await Promise.all(sockets.map((s) => (s.connecting ? new Promise((r) => s.once('connect', r)) : undefined)));
      for (let i = 0; i < 5; i++) {
        const res = await rawRequest(h.url, { method: 'POST', path: '/api/chat', headers: { 'Content-Type': 'application/json' }, body: chatBody });
        assert.equal(res.status, 200, res.body);
      }
      // Answered while every slow socket still held its connection, not after the gateway dropped them.
      assert.deepEqual(sockets.filter((s) => s.destroyed || s.readableEnded).length, 0, 'slow sockets were closed before the normal client was answered');
    } finally {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
    }
  });

  // Streamed answers may last minutes (requestTimeout 0), so only unfinished headers are cut short.
  it('closes a socket that has not finished its headers once the headers timeout has passed', async () => {
    h = await startGateway([{ name: 'a', tier: 0 }]);
    const u = new URL(h.url);
    const s = connect(Number(u.port), u.hostname);
    s.on('error', () => undefined);
    s.write('GET /api/tags HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const timer = setInterval(() => s.writable && s.write('a'), 1000);
    const closedAfter = await new Promise<number>((resolve) => {
      const t = Date.now();
      s.on('close', () => resolve(Date.now() - t));
      // Node's own defaults would close it after a minute at the earliest (headersTimeout 60 s).
      setTimeout(() => resolve(Infinity), 25_000);
    });
    clearInterval(timer);
    s.destroy();
    assert.notEqual(closedAfter, Infinity, 'slow-header socket still open after 25 s');
    // It was cut for its headers, not at once (Node checks the timeout once a second: connectionsCheckingInterval).
    assert.ok(closedAfter >= HEADERS_TIMEOUT_MS - 1_000, `closed after ${closedAfter} ms, before the ${HEADERS_TIMEOUT_MS} ms headers timeout`);
  });
});
