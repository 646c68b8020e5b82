import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeError } from '../../../src/core/inference/nodeError';
import { createNodeDispatcher } from '../../../src/core/inference/nodeDispatcher';
import { nodeRequest } from '../../../src/core/inference/nodeRequest';
import { endpointFor } from './clientHarness';
import { until } from '../../integration/until';

/** 16 MiB of distinct bytes: far more than loopback's socket buffers hold, so an unread body holds the node back. */
const BIG = Buffer.from(Array.from({ length: 16 << 20 }, (_, i) => (i * 7919) % 251));
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Served {
  url: string;
  /** Body bytes the node has handed to the kernel so far. */
  flushed: number;
  /** The client port of each request, in order: the same port twice means the connection was reused. */
  ports: number[];
  close(): Promise<void>;
}

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, served: Served) => void): Promise<Served> {
  const served: Served = { url: '', flushed: 0, ports: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    served.ports.push(req.socket.remotePort ?? 0);
    handler(req, res, served);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  served.close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return served;
}

/** Writes `BIG` in 64 KiB pieces as fast as the connection takes them, counting what has left. */
function writeBig(res: http.ServerResponse, served: Served): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  let at = 0;
  const next = () => {
    while (at < BIG.length) {
      const piece = BIG.subarray(at, at + 64 * 1024);
      at += piece.length;
      const more = res.write(piece, () => {
        served.flushed += piece.length;
      });
      if (!more) return void res.once('drain', next);
    }
    res.end();
  };
  next();
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('nodeRequest (one exchange with a node, on undici dispatch)', () => {
  let served: Served | undefined;
  const dispatcher = createNodeDispatcher({ connectTimeoutMs: 1000 });
  afterEach(async () => {
    await served?.close();
    served = undefined;
  });
  after(() => dispatcher.close());

  it('chunks(): a reader that pauses holds the node back, and still gets the body whole and in order', async () => {
    served = await serve((_req, res, s) => writeBig(res, s));
    const res = await nodeRequest(dispatcher, endpointFor(served.url, { stallTimeoutMs: 5000 }), { path: '/big', accept: '*/*' });
    const parts: Buffer[] = [];
    let flushedWhilePaused = -1;
    for await (const chunk of res.chunks()) {
      parts.push(chunk);
      if (parts.length === 1) {
        await delay(300);
        flushedWhilePaused = served.flushed;
      }
    }
    assert.equal(digest(Buffer.concat(parts)), digest(BIG));
    assert.ok(flushedWhilePaused < BIG.length / 2, `the node sent ${flushedWhilePaused} bytes while nobody read`);
  });

  it('read(): a promise returned holds the node back, and the body still arrives whole and in order', async () => {
    served = await serve((_req, res, s) => writeBig(res, s));
    const res = await nodeRequest(dispatcher, endpointFor(served.url, { stallTimeoutMs: 5000 }), { path: '/big', accept: '*/*' });
    const parts: Buffer[] = [];
    let flushedWhilePaused = -1;
    await res.read((chunk) => {
      parts.push(chunk);
      if (parts.length > 1) return undefined;
      return delay(300).then(() => {
        flushedWhilePaused = served?.flushed ?? -1;
      });
    });
    assert.equal(digest(Buffer.concat(parts)), digest(BIG));
    assert.ok(flushedWhilePaused >= 0 && flushedWhilePaused < BIG.length / 2, `the node sent ${flushedWhilePaused} bytes while nobody read`);
  });

  it('read(): bytes that came with the headers, before read() was called, are handed on first', async () => {
    served = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"a":1}\n{"b":2}\n');
    });
    const res = await nodeRequest(dispatcher, endpointFor(served.url), { path: '/small', accept: '*/*' });
    // Let the rest of the answer arrive before anyone reads.
    await delay(20);
    const parts: Buffer[] = [];
    await res.read((chunk) => {
      parts.push(chunk);
    });
    assert.equal(Buffer.concat(parts).toString(), '{"a":1}\n{"b":2}\n');
  });

  it('read(): the HTTP chunks of one network read are handed on at once, and a later read on its own, at once', async () => {
    // A node that flushes every token: one HTTP chunk per record. Corked, six of them leave in one segment.
    const batch = (res: http.ServerResponse, records: string[]) => {
      res.socket?.cork();
      for (const r of records) res.write(r);
      res.socket?.uncork();
    };
    served = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.flushHeaders();
      batch(res, ['1\n', '2\n', '3\n', '4\n', '5\n', '6\n']);
      // The rest only once the reader has had the first part: a client that held it back (waiting
      // for more, or for the end) would wait forever, and the test fail on its timeout.
      void firstRead.then(() => {
        batch(res, ['7\n', '8\n']);
        res.end();
      });
    });
    let gotFirst: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => (gotFirst = resolve));
    const res = await nodeRequest(dispatcher, endpointFor(served.url), { path: '/tokens', accept: '*/*' });
    const calls: string[] = [];
    await res.read((chunk) => {
      calls.push(chunk.toString());
      gotFirst();
    });
    assert.deepEqual(calls, ['1\n2\n3\n4\n5\n6\n', '7\n8\n']);
  });

  it('read() stopped with false, then finish(): the connection goes back to the pool for the next request', async () => {
    served = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part\n');
      setTimeout(() => res.end('the rest, dropped\n'), 20);
    });
    const endpoint = endpointFor(served.url);
    const first = await nodeRequest(dispatcher, endpoint, { path: '/a', accept: '*/*' });
    let seen = '';
    await first.read((chunk) => {
      seen += chunk.toString();
      return false;
    });
    first.finish();
    assert.equal(seen, 'first part\n');
    // Not a fixed sleep: the connection is free once the rest of the body has been drained.
    const origin = new URL(served.url).origin;
    await until('the connection to be back in the pool', () => (dispatcher.stats[origin] as { free?: number } | undefined)?.free === 1, 15_000, 5);
    const second = await nodeRequest(dispatcher, endpoint, { path: '/b', accept: '*/*' });
    const body = (await second.readAll(1024)).toString();
    assert.equal(body, 'first part\nthe rest, dropped\n');
    assert.equal(served.ports.length, 2);
    assert.equal(served.ports[0], served.ports[1], 'the second request opened a new connection');
  });

  it('close() mid-body tears the connection down, and a reader still waiting learns the answer is incomplete', async () => {
    let serverSideClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (serverSideClosed = resolve));
    served = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part\n');
      req.socket.once('close', serverSideClosed);
    });
    const res = await nodeRequest(dispatcher, endpointFor(served.url, { stallTimeoutMs: 5000 }), { path: '/a', accept: '*/*' });
    const reading = res.read(() => {
      setImmediate(() => res.close());
    });
    await assert.rejects(reading, (err: unknown) => err instanceof NodeError && err.kind === 'incomplete');
    // The node sees the connection go; if it never did, the test ends on its timeout.
    await closed;
  });

  it('a 500 with a long HTML page: http error with a short message, the rest of the page not read', async () => {
    served = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`<html><body>${'oops '.repeat(10_000)}</body></html>`);
    });
    await assert.rejects(nodeRequest(dispatcher, endpointFor(served.url), { path: '/a', accept: '*/*' }), (err: unknown) => {
      assert.ok(err instanceof NodeError);
      assert.equal(err.kind, 'http');
      assert.equal(err.details.status, 500);
      assert.match(err.message, /answered 500: <html><body>oops oops/);
      assert.ok(err.message.length < 300, `message of ${err.message.length} characters`);
      return true;
    });
  });

  it('a cancel while the request waits for a connection rejects at once, and the queued request never reaches the node', async () => {
    // /slow holds the only connection until the test lets it end, after the cancel was seen: a
    // cancel that waited for the connection would wait forever, and the test fail on its timeout.
    let endSlow: () => void = () => undefined;
    served = await serve((req, res) => {
      if (req.url !== '/slow') return res.end('fast');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      endSlow = () => res.end('slow done');
    });
    const single = createNodeDispatcher({ connectTimeoutMs: 1000 }, { connections: 1 });
    try {
      const endpoint = endpointFor(served.url);
      const slow = await nodeRequest(single, endpoint, { path: '/slow', accept: '*/*' });
      const controller = new AbortController();
      const queued = nodeRequest(single, endpoint, { path: '/queued', accept: '*/*', signal: controller.signal });
      setImmediate(() => controller.abort());
      await assert.rejects(queued, (err: unknown) => err instanceof NodeError && err.kind === 'aborted');
      endSlow();
      assert.equal((await slow.readAll(1024)).toString(), 'slow done');
      const after = await nodeRequest(single, endpoint, { path: '/after', accept: '*/*' });
      assert.equal((await after.readAll(1024)).toString(), 'fast');
      assert.deepEqual(served.ports.length, 2, 'the cancelled request reached the node');
    } finally {
      await single.close();
    }
  });
});
