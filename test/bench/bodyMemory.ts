import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeCluster } from '../fakes/fakeCluster';

/**
 * Issue 20: how much memory large request bodies cost `harombe serve`. Starts the bundled CLI
 * (build first: `npm run build`) in front of a fake node and prints its RSS before, at the peak of,
 * and after one and three concurrent bodies of 31 MiB (the size that took the gateway from 67 to
 * 247 MB) and of 7 MiB (under the default limit). `npx tsx test/bench/bodyMemory.ts`
 */

const root = resolve(__dirname, '../..');

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

function post(url: string, body: Buffer): Promise<number> {
  const u = new URL(url);
  return new Promise((resolvePost) => {
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/api/chat', headers: { 'content-type': 'application/json', 'content-length': body.length }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolvePost(res.statusCode ?? 0));
    });
    // The gateway may answer 413 and close before the body is sent: that is the point.
    req.on('error', () => resolvePost(0));
    req.end(body);
  });
}

async function main(): Promise<void> {
  const cluster = await startFakeCluster([{ name: 'a', tier: 0 }]);
  const dir = mkdtempSync(join(tmpdir(), 'harombe-bodymem-'));
  writeFileSync(join(dir, 'harombe.yaml'), cluster.yaml);
  const child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), '--config', join(dir, 'harombe.yaml'), 'serve', '--port', '0'], {
    env: { ...process.env, HAROMBE_HOME: join(dir, 'home'), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((r) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) r(m[1] as string);
    });
  });
  const pid = child.pid!;
  const bodyOf = (mib: number) => Buffer.from(JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'x'.repeat(mib * 2 ** 20 - 200) }], stream: false }));
  await post(url, bodyOf(0.001));
  await new Promise((r) => setTimeout(r, 1000));
  console.log('| body | at once | status | RSS before (MB) | peak (MB) | 3 s after (MB) |');
  console.log('|---|---|---|---|---|---|');
  for (const mib of [7, 31]) {
    for (const n of [1, 3]) {
      const body = bodyOf(mib);
      const before = rssMb(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 10);
      const statuses = await Promise.all(Array.from({ length: n }, () => post(url, body)));
      clearInterval(sampler);
      await new Promise((r) => setTimeout(r, 3000));
      console.log(`| ${mib} MiB | ${n} | ${[...new Set(statuses)].join(', ')} | ${before.toFixed(0)} | ${peak.toFixed(0)} | ${rssMb(pid).toFixed(0)} |`);
    }
  }
  child.kill('SIGTERM');
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}

void main();
