/**
 * The floor any Node proxy is measured against: a bare node:http pipe to one upstream URL, with a
 * keep-alive agent, no parsing and no routing. Plain JavaScript run by plain `node`, so its RSS is
 * that of a Node proxy and not of a TypeScript loader. Prints `{"port":N}` and runs until killed.
 * Usage: node test/bench/pipeProxy.mjs http://127.0.0.1:PORT
 */
import http from 'node:http';
import process from 'node:process';
import { URL } from 'node:url';

const upstream = new URL(process.argv[2] ?? '');
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
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
