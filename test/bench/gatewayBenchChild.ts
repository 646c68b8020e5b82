/**
 * A separate process for `gatewayBench`: `fakes` starts two fake Ollama nodes (zero delay and
 * 5 ms per token), `pipe` a bare node:http proxy to a URL (the floor any gateway is measured
 * against). It prints one JSON line with its ports and runs until killed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeOllama } from '../fakes/fakeOllama';

async function fakes(): Promise<void> {
  const fast = await FakeOllama.start({ models: ['bench:fast'] });
  const slow = await FakeOllama.start({ models: ['bench:slow'], chunkDelayMs: 5 });
  process.stdout.write(JSON.stringify({ fast: fast.port, slow: slow.port }) + '\n');
}

function pipe(target: string): void {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer({ noDelay: true }, (req, res) => {
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n'));
}

const mode = process.argv[2];
if (mode === 'fakes') void fakes();
else if (mode === 'pipe') pipe(process.argv[3] as string);
else {
  process.stderr.write('usage: gatewayBenchChild fakes | pipe URL\n');
  process.exit(2);
}
