/**
 * `npm run bench:peers` (optional, not in CI): the load of `gatewayBench` against a peer gateway,
 * Portkey's (`@portkey-ai/gateway`), in front of the same zero-delay fake Ollama node, next to going
 * direct, a bare node:http pipe proxy, and `harombe serve`. Like with like: the native Ollama
 * `/api/chat` (NDJSON; Portkey through its passthrough `/v1/proxy/*`) and the OpenAI
 * `/v1/chat/completions` (SSE; Portkey through its `ollama` provider, which is what its docs
 * describe for Ollama). Figures, not asserts.
 *
 * Portkey is installed from the npm registry into `.bench/peers/` (git-ignored, reused when it is
 * already there) with its own package.json, which carries the override `@hono/node-server` 1.14.1
 * that Portkey 1.15 needs to stream. It never becomes a dependency of this repo. Every server binds
 * 127.0.0.1 (Portkey's own listen() binds every interface, so a preload pins it to loopback).
 * Build first (`npm run bench:peers` does); alone: `npx tsx test/bench/peersBench.ts`.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'undici';
import { percentile } from '../../src/core/metrics/clusterMetrics';
import { LOAD_SECONDS, load, ms, PeakRss, rssMb, startChild, streamOnce, TTFB_REQUESTS, ttfb, startBenchProcesses, stopChildren, type Target, type Timed } from './gatewayBench';

const root = resolve(__dirname, '../..');
const peersDir = join(root, '.bench', 'peers');
const PORTKEY = '@portkey-ai/gateway';
const PORTKEY_VERSION = '1.15.2';
const HONO_NODE_SERVER = '1.14.1';
const CONCURRENCIES = [1, 10, 50] as const;

const peersPackage = {
  name: 'harombe-bench-peers',
  private: true,
  description: 'Peer gateways for npm run bench:peers (git-ignored; written and installed by test/bench/peersBench.ts)',
  dependencies: { [PORTKEY]: PORTKEY_VERSION },
  // Portkey 1.15 with a newer @hono/node-server buffers streamed answers instead of passing them on.
  overrides: { '@hono/node-server': HONO_NODE_SERVER },
};

/** Pins servers that listen on every interface (`listen(port)`) to 127.0.0.1. */
const loopbackPreload = `const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number') {
    if (typeof args[1] === 'function') args.splice(1, 0, '127.0.0.1');
    else if (args[1] === undefined || args[1] === '0.0.0.0' || args[1] === '::') args[1] = '127.0.0.1';
  } else if (args[0] && typeof args[0] === 'object' && args[0].path === undefined && !args[0].host) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
`;

function installedVersion(pkg: string): string | undefined {
  const file = join(peersDir, 'node_modules', pkg, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined;
}

/** Installs Portkey into .bench/peers unless the right versions are there; returns its entry point. */
function installPortkey(): string {
  mkdirSync(peersDir, { recursive: true });
  const manifest = JSON.stringify(peersPackage, null, 2) + '\n';
  const manifestFile = join(peersDir, 'package.json');
  if (!existsSync(manifestFile) || readFileSync(manifestFile, 'utf8') !== manifest) writeFileSync(manifestFile, manifest);
  writeFileSync(join(peersDir, 'loopback.cjs'), loopbackPreload);
  if (installedVersion(PORTKEY) === PORTKEY_VERSION && installedVersion('@hono/node-server') === HONO_NODE_SERVER) {
    process.stderr.write(`[peers] ${PORTKEY}@${PORTKEY_VERSION} already in ${peersDir}\n`);
  } else {
    process.stderr.write(`[peers] installing ${PORTKEY}@${PORTKEY_VERSION} (override @hono/node-server ${HONO_NODE_SERVER}) into ${peersDir}…\n`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: peersDir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`npm install in ${peersDir} failed (${r.status ?? r.signal})`);
    const hono = installedVersion('@hono/node-server');
    if (hono !== HONO_NODE_SERVER) throw new Error(`the override did not take: @hono/node-server is ${hono ?? 'missing'}, not ${HONO_NODE_SERVER}`);
  }
  return join(peersDir, 'node_modules', PORTKEY, 'build', 'start-server.js');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** One request that must come back 200 with a whole answer in the expected wire format. */
async function check(t: Target, wire: 'ndjson' | 'sse'): Promise<Record<string, string | string[] | undefined>> {
  const { statusCode, headers, body } = await t.pool.request({
    path: t.path ?? '/api/chat',
    method: 'POST',
    headers: { 'content-type': 'application/json', ...t.headers },
    body: JSON.stringify({ model: t.model, messages: [{ role: 'user', content: 'stream a short answer please' }], stream: true }),
  });
  const text = await body.text();
  const whole = wire === 'sse' ? /data: \[DONE\]/.test(text) && /"content":"Hello"/.test(text) : /"done":true/.test(text) && /"content":"Hello"/.test(text);
  if (statusCode !== 200 || !whole) throw new Error(`${t.name}: HTTP ${statusCode}, not a whole ${wire} answer: ${text.slice(0, 300)}`);
  return headers;
}

interface Column {
  label: string;
  ndjson?: Target;
  sse?: Target;
  /** The process to sample RSS from. */
  pid?: number;
  /** The 5 ms/token node through this column, per API. */
  slow?: Partial<Record<'ndjson' | 'sse', Target>>;
}

interface Figures {
  ttfb: Record<'ndjson' | 'sse', Map<string, { median: number; p95: number }>>;
  load: Record<'ndjson' | 'sse', Map<string, Map<number, { rps: number; p99: number }>>>;
  rss: Map<string, { idle: number; peak: PeakRss; hwm: number }>;
  slow: Record<'ndjson' | 'sse', Map<string, Timed[]>>;
}

export async function benchPeers(): Promise<{ header: string[]; rows: string[][] }> {
  const entry = installPortkey();
  const dir = mkdtempSync(join(tmpdir(), 'harombe-peersbench-'));
  const children: ChildProcess[] = [];
  const pools: Pool[] = [];
  const loadAverage = loadavg()[0] ?? 0;
  try {
    const { ports, gw, gatewayUrl, pipePort } = await startBenchProcesses(dir, children);
    const portkeyPort = await freePort();
    const portkey = await startChild(
      ['--require', join(peersDir, 'loopback.cjs'), entry, `--port=${portkeyPort}`, '--headless'],
      { NODE_ENV: 'production' },
      /Ready for connections/,
    );
    children.push(portkey.child);
    const portkeyUrl = `http://127.0.0.1:${portkeyPort}`;

    const pool = (url: string) => {
      const p = new Pool(url, { connections: 64 });
      pools.push(p);
      return p;
    };
    const node = `http://127.0.0.1:${ports.fast}`;
    const portkeyHeaders = (port: number) => ({ 'x-portkey-provider': 'ollama', 'x-portkey-custom-host': `http://127.0.0.1:${port}` });
    const v1 = '/v1/chat/completions';
    const columns: Column[] = [
      {
        label: 'Direct',
        ndjson: { name: 'direct', pool: pool(node), model: 'bench:fast' },
        sse: { name: 'direct /v1', pool: pool(node), model: 'bench:fast', path: v1 },
        slow: {
          ndjson: { name: 'slow direct', pool: pool(`http://127.0.0.1:${ports.slow}`), model: 'bench:slow' },
          sse: { name: 'slow direct /v1', pool: pool(`http://127.0.0.1:${ports.slow}`), model: 'bench:slow', path: v1 },
        },
      },
      {
        label: 'Bare pipe',
        ndjson: { name: 'pipe', pool: pool(`http://127.0.0.1:${pipePort}`), model: 'bench:fast' },
        sse: { name: 'pipe /v1', pool: pool(`http://127.0.0.1:${pipePort}`), model: 'bench:fast', path: v1 },
      },
      {
        label: 'Harombe gateway',
        ndjson: { name: 'harombe', pool: pool(gatewayUrl), model: 'harombe' },
        sse: { name: 'harombe /v1', pool: pool(gatewayUrl), model: 'harombe', path: v1 },
        pid: gw.child.pid,
        slow: {
          ndjson: { name: 'slow harombe', pool: pool(gatewayUrl), model: 'bench:slow' },
          sse: { name: 'slow harombe /v1', pool: pool(gatewayUrl), model: 'bench:slow', path: v1 },
        },
      },
      {
        label: `Portkey ${PORTKEY_VERSION}`,
        ndjson: { name: 'portkey passthrough', pool: pool(portkeyUrl), model: 'bench:fast', path: '/v1/proxy/api/chat', headers: portkeyHeaders(ports.fast) },
        sse: { name: 'portkey ollama provider', pool: pool(portkeyUrl), model: 'bench:fast', path: v1, headers: portkeyHeaders(ports.fast) },
        pid: portkey.child.pid,
        slow: {
          ndjson: { name: 'slow portkey passthrough', pool: pool(portkeyUrl), model: 'bench:slow', path: '/v1/proxy/api/chat', headers: portkeyHeaders(ports.slow) },
          sse: { name: 'slow portkey ollama provider', pool: pool(portkeyUrl), model: 'bench:slow', path: v1, headers: portkeyHeaders(ports.slow) },
        },
      },
    ];

    // Every path answers in full before anything is timed; the gateway's prompt goes to the zero-delay node.
    for (const c of columns) {
      if (c.ndjson) {
        const headers = await check(c.ndjson, 'ndjson');
        if (c.label === 'Harombe gateway' && headers['x-harombe-node'] !== 'fast') throw new Error(`the bench prompt was routed to ${String(headers['x-harombe-node'])}, not the zero-delay node`);
      }
      if (c.sse) await check(c.sse, 'sse');
      if (c.slow?.ndjson) await check(c.slow.ndjson, 'ndjson');
      if (c.slow?.sse) await check(c.slow.sse, 'sse');
    }

    const figures: Figures = { ttfb: { ndjson: new Map(), sse: new Map() }, load: { ndjson: new Map(), sse: new Map() }, rss: new Map(), slow: { ndjson: new Map(), sse: new Map() } };
    for (const wire of ['ndjson', 'sse'] as const) {
      for (const c of columns) {
        const t = c[wire];
        if (t) figures.ttfb[wire].set(c.label, await ttfb(t));
      }
    }
    for (const c of columns) if (c.pid) figures.rss.set(c.label, { idle: rssMb(c.pid, 'VmRSS'), peak: new PeakRss(c.pid), hwm: NaN });
    try {
      for (const wire of ['ndjson', 'sse'] as const) {
        for (const n of CONCURRENCIES) {
          for (const c of columns) {
            const t = c[wire];
            if (!t) continue;
            const byC = figures.load[wire].get(c.label) ?? new Map<number, { rps: number; p99: number }>();
            byC.set(n, await load(t, n, LOAD_SECONDS));
            figures.load[wire].set(c.label, byC);
          }
        }
      }
    } finally {
      for (const r of figures.rss.values()) r.peak.stop();
    }
    for (const c of columns) {
      const r = c.pid ? figures.rss.get(c.label) : undefined;
      if (r && c.pid) r.hwm = rssMb(c.pid, 'VmHWM');
    }
    for (let i = 0; i < 10; i++) {
      for (const wire of ['ndjson', 'sse'] as const) {
        for (const c of columns) {
          const t = c.slow?.[wire];
          if (!t) continue;
          const runs = figures.slow[wire].get(c.label) ?? [];
          runs.push(await streamOnce(t, true));
          figures.slow[wire].set(c.label, runs);
        }
      }
    }
    return table(columns, figures, loadAverage);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    // The gateway writes its metrics into HAROMBE_HOME as it exits: remove the folder after that.
    await stopChildren(children);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function table(columns: Column[], f: Figures, loadAverage: number): { header: string[]; rows: string[][] } {
  const med = (xs: number[]) => percentile(xs, 0.5) ?? NaN;
  const num = (v: number) => v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
  const cells = (fn: (c: Column) => string) => columns.map(fn);
  const rows: string[][] = [];
  const direct = columns[0] as Column;
  for (const wire of ['ndjson', 'sse'] as const) {
    const title =
      wire === 'ndjson'
        ? 'Ollama `POST /api/chat` (NDJSON; Portkey: passthrough `/v1/proxy/api/chat`)'
        : 'OpenAI `POST /v1/chat/completions` (SSE; Portkey: provider `ollama`)';
    rows.push([`**${title}**`, ...cells(() => '')]);
    rows.push([
      `time to first byte, ${TTFB_REQUESTS} sequential streams, median / p95`,
      ...cells((c) => {
        const t = f.ttfb[wire].get(c.label);
        return t ? `${num(t.median)} / ${num(t.p95)} ms` : '';
      }),
    ]);
    const base = f.ttfb[wire].get(direct.label)?.median ?? NaN;
    rows.push(['first byte added vs direct, median', ...cells((c) => (c === direct || !f.ttfb[wire].has(c.label) ? '' : `+${num((f.ttfb[wire].get(c.label)?.median ?? NaN) - base)} ms`))]);
    rows.push([
      `throughput, req/s at concurrency ${CONCURRENCIES.join(' / ')} (15-token streams)`,
      ...cells((c) => {
        const byC = f.load[wire].get(c.label);
        return byC ? CONCURRENCIES.map((n) => (byC.get(n)?.rps ?? NaN).toFixed(0)).join(' / ') : '';
      }),
    ]);
    const directAt50 = f.load[wire].get(direct.label)?.get(50)?.rps ?? NaN;
    rows.push(['throughput at 50 vs direct', ...cells((c) => (c === direct || !f.load[wire].has(c.label) ? '' : `${((f.load[wire].get(c.label)?.get(50)?.rps ?? NaN) / directAt50).toFixed(2)}×`))]);
    rows.push(['p99 latency at concurrency 50', ...cells((c) => { const l = f.load[wire].get(c.label)?.get(50); return l ? ms(l.p99) : ''; })]);
  }
  rows.push([
    'process RSS before the load / max under load, sampled every 100 ms (its anonymous part: heap, allocator, stacks) / high-water mark',
    ...cells((c) => { const r = f.rss.get(c.label); return r ? `${r.idle.toFixed(0)} / ${r.peak.rss.toFixed(0)} (${r.peak.anon.toFixed(0)} anon.) / ${r.hwm.toFixed(0)} MB` : ''; }),
  ]);
  for (const wire of ['ndjson', 'sse'] as const) {
    rows.push([
      `5 ms/token stream, ${wire === 'ndjson' ? '`/api/chat`' : '`/v1/chat/completions`'}, 10 runs: first byte, chunks, median gap`,
      ...cells((c) => {
        const runs = f.slow[wire].get(c.label);
        if (!runs) return '';
        const chunks = med(runs.map((x) => x.arrivals.length));
        const gaps = med(runs.flatMap((x) => x.arrivals.slice(1).map((a, i) => a - (x.arrivals[i] as number))));
        return `${num(med(runs.map((x) => x.ttfbMs)))} ms, ${chunks === 1 ? '1 chunk (buffered)' : `${chunks} chunks, ${num(gaps)} ms apart`}`;
      }),
    ]);
  }
  rows.push([`machine: ${cpus().length} cores, Node ${process.versions.node}, load average at start ${loadAverage.toFixed(2)} (figures are noisy above ~1)`, ...cells(() => '')]);
  return { header: ['Peer benchmark (same fake node, same load)', ...columns.map((c) => c.label)], rows };
}

if (require.main === module) {
  const started = performance.now();
  benchPeers().then(
    ({ header, rows }) => {
      const line = (r: string[]) => `| ${r.join(' | ')} |`;
      process.stdout.write([line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n') + '\n');
      process.stdout.write(`(${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
