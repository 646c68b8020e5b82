/**
 * `harombe serve` on the hot path, against fake nodes on 127.0.0.1, three ways: straight to the
 * node, through the gateway (the bundled `dist/cli.js serve` in its own process, so its RSS is its
 * own), and through a bare node:http pipe proxy (the floor for any proxy). The fake nodes run in a
 * third process; the load generator (undici) runs here. Figures, not asserts. Build first
 * (`node esbuild.mjs`); run alone with `npx tsx test/bench/gatewayBench.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'undici';
import { harombeConfigSchema } from '../../src/core/config/schema';
import { Coordinator } from '../../src/core/coordinator';
import type { EventSink } from '../../src/core/routing/failoverRunner';
import { GatewayServer } from '../../src/core/gateway/gatewayServer';
import { percentile } from '../../src/core/metrics/clusterMetrics';

export interface GatewayBenchRow {
  what: string;
  figure: string;
  target: string;
}

const root = resolve(__dirname, '../..');
export const TTFB_REQUESTS = 300;
export const LOAD_SECONDS = 2.5;
/** Alternations of the smaller-heap gateways with the pipe. */
const LEAN_ROUNDS = 3;
/**
 * The smaller-heap setting the README offers for `harombe serve`: both flags are allowed in
 * NODE_OPTIONS. A young generation of 8 MB instead of V8's 32; the old-generation limit is the
 * headroom for the largest request bodies, and also makes V8 grow that generation less past its
 * live data between full collections.
 */
export const LEAN_NODE_OPTIONS = '--max-semi-space-size=4 --max-old-space-size=512';
/**
 * The leanest setting measured, for a gateway run as a service: Node's command line (NODE_OPTIONS
 * refuses the last two). V8's optimising compilers, for JavaScript and for undici's WebAssembly
 * parser, run on background threads, and the C allocator keeps those threads' scratch memory after
 * they finish; the two flags compile on the main thread and keep WebAssembly on the baseline
 * compiler. Each costs CPU per request.
 */
export const LEANEST_NODE_ARGS = [...LEAN_NODE_OPTIONS.split(' '), '--no-concurrent-recompilation', '--liftoff-only'];
export const ms = (v: number) => `${v.toFixed(v < 10 ? 3 : 1)} ms`;

export interface Target {
  name: string;
  pool: Pool;
  model: string;
  /** Default `/api/chat`; the same JSON body also fits `/v1/chat/completions` (peersBench). */
  path?: string;
  headers?: Record<string, string>;
}

export interface Timed {
  ttfbMs: number;
  totalMs: number;
  /** When each body chunk arrived, ms from the request. */
  arrivals: number[];
}

export async function streamOnce(t: Target, keepArrivals = false): Promise<Timed> {
  const start = performance.now();
  const { statusCode, body } = await t.pool.request({
    path: t.path ?? '/api/chat',
    method: 'POST',
    headers: { 'content-type': 'application/json', ...t.headers },
    body: JSON.stringify({ model: t.model, messages: [{ role: 'user', content: 'stream a short answer please' }], stream: true }),
  });
  let ttfbMs = -1;
  const arrivals: number[] = [];
  for await (const _ of body) {
    const now = performance.now() - start;
    if (ttfbMs < 0) ttfbMs = now;
    if (keepArrivals) arrivals.push(now);
  }
  if (statusCode !== 200) throw new Error(`${t.name}: HTTP ${statusCode}`);
  return { ttfbMs, totalMs: performance.now() - start, arrivals };
}

export async function ttfb(t: Target): Promise<{ median: number; p95: number }> {
  for (let i = 0; i < 50; i++) await streamOnce(t);
  const samples: number[] = [];
  for (let i = 0; i < TTFB_REQUESTS; i++) samples.push((await streamOnce(t)).ttfbMs);
  return { median: percentile(samples, 0.5) ?? NaN, p95: percentile(samples, 0.95) ?? NaN };
}

export async function load(t: Target, concurrency: number, seconds: number): Promise<{ rps: number; p99: number }> {
  const until = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  const worker = async () => {
    while (performance.now() < until) {
      latencies.push((await streamOnce(t)).totalMs);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { rps: latencies.length / ((performance.now() - started) / 1000), p99: percentile(latencies, 0.99) ?? NaN };
}

/** The core's share: the same streamed request through a Coordinator here, without the gateway's HTTP server. */
async function coordinatorTtft(raw: unknown): Promise<{ median: number; p95: number }> {
  const coordinator = new Coordinator({ config: harombeConfigSchema.parse(raw) });
  try {
    await coordinator.prober.sweep();
    const once = async () => {
      const start = performance.now();
      let first = -1;
      for await (const e of coordinator.complete({ messages: [{ role: 'user', content: 'stream a short answer please' }], model: 'bench:fast' })) {
        if (e.type === 'delta' && first < 0) first = performance.now() - start;
      }
      return first;
    };
    for (let i = 0; i < 50; i++) await once();
    const samples: number[] = [];
    for (let i = 0; i < TTFB_REQUESTS; i++) samples.push(await once());
    return { median: percentile(samples, 0.5) ?? NaN, p95: percentile(samples, 0.95) ?? NaN };
  } finally {
    coordinator.dispose();
  }
}

/**
 * The gateway's own share: its HTTP layer over a stub coordinator that yields a ready answer,
 * against a bare node:http server writing the same records, both in this process.
 */
async function layerOverhead(): Promise<{ bareUs: number; gatewayUs: number }> {
  const tokens = 'Hello from bench:fast! You said: "stream a short answer please". Grüße 👋 — this is a fake answer.'.split(/(?=\s)/);
  const stub = {
    nodes: () => [],
    async completeTo(_request: unknown, sink: EventSink): Promise<void> {
      await sink({ type: 'route', requestedTier: 0, tier: 0, node: 'fast', model: 'm', forced: false, reasons: ['short prompt'], nodeReason: 'only node of the tier' });
      for (const text of tokens) await sink({ type: 'delta', text });
      await sink({ type: 'done', node: 'fast', tier: 0, model: 'm', doneReason: 'stop', timing: { ttftMs: 0.1, totalMs: 0.2, fallbacks: 0 }, tokens: { prompt: 5, completion: tokens.length } });
    },
  };
  const gateway = new GatewayServer({ coordinator: stub as unknown as Coordinator, port: 0 });
  const lines = tokens.map((t) => JSON.stringify({ model: 'harombe', created_at: new Date().toISOString(), message: { role: 'assistant', content: t }, done: false }) + '\n');
  const bare = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString());
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const l of lines) res.write(l);
      res.end('{"done":true}\n');
    });
  });
  try {
    const gatewayUrl = await gateway.listen();
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    const perRequestUs = async (url: string) => {
      const pool = new Pool(url);
      const body = JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'stream a short answer please' }] });
      const run = async (n: number) => {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) await (await pool.request({ path: '/api/chat', method: 'POST', body })).body.text();
        return ((performance.now() - t0) / n) * 1000;
      };
      await run(500);
      const us = await run(2000);
      await pool.close();
      return us;
    };
    return { bareUs: await perRequestUs(bareUrl), gatewayUs: await perRequestUs(gatewayUrl) };
  } finally {
    await gateway.close();
    bare.close();
  }
}

export function startChild(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolveReady, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = ready.exec(out);
      if (m) resolveReady({ child, match: m });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${err}`)));
  });
}

/** Waits for each child to exit after SIGTERM: a gateway still writing its home directory would otherwise race the clean-up. */
export async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((c) =>
      c.exitCode !== null || c.signalCode !== null
        ? undefined
        : new Promise((r) => {
            c.once('exit', r);
            c.kill('SIGTERM');
          }),
    ),
  );
}

export function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return statusMb(readFileSync(`/proc/${pid}/status`, 'utf8'), field);
}

/** A `kB` field of /proc/<pid>/status, in MB. */
function statusMb(status: string, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The largest RSS of a process seen every 100 ms, with its split at that moment: anonymous memory
 * (the heap, the C allocator, stacks: what the process itself made) and file-backed pages (Node's
 * binary and the shared libraries, the same for any Node process and shared between them).
 */
export class PeakRss {
  rss = -Infinity;
  anon = NaN;
  file = NaN;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.sample();
    // Unref'd: a benchmark that throws before stop() still exits.
    this.timer = setInterval(() => this.sample(), 100).unref();
  }

  /** Takes a last sample and stops sampling. */
  stop(): this {
    clearInterval(this.timer);
    this.sample();
    return this;
  }

  describe(): string {
    return `${this.rss.toFixed(1)} MB (${this.anon.toFixed(1)} anonymous + ${this.file.toFixed(1)} file-backed)`;
  }

  private sample(): void {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const rss = statusMb(status, 'VmRSS');
    if (!(rss > this.rss)) return;
    this.rss = rss;
    this.anon = statusMb(status, 'RssAnon');
    this.file = statusMb(status, 'RssFile');
  }
}

/**
 * The processes every gateway benchmark runs against: the fake nodes (zero delay and 5 ms per
 * token), `dist/cli.js serve` over them, and the bare pipe proxy to the zero-delay node. Each child
 * is pushed onto `children` as soon as it runs, for the caller to kill.
 */
export async function startBenchProcesses(dir: string, children: ChildProcess[]) {
  const tsx = ['--import', 'tsx'];
  const fakes = await startChild([...tsx, 'test/bench/gatewayBenchChild.ts'], {}, /(\{.*\})\n/);
  children.push(fakes.child);
  const ports = JSON.parse(fakes.match[1] as string) as { fast: number; slow: number };
  const config = {
    cluster: {
      health: { interval: 30 },
      routing: { load_balance: false },
      nodes: [
        { name: 'fast', host: '127.0.0.1', port: ports.fast, model: 'bench:fast', tier: 0, kind: 'ollama', max_parallel: 256 },
        { name: 'slow', host: '127.0.0.1', port: ports.slow, model: 'bench:slow', tier: 1, kind: 'ollama', max_parallel: 256 },
      ],
    },
  };
  writeFileSync(join(dir, 'harombe.yaml'), JSON.stringify(config));
  const gw = await startChild(['dist/cli.js', '--config', join(dir, 'harombe.yaml'), 'serve', '--port', '0'], { HAROMBE_HOME: join(dir, 'home') }, /listening on (http:\/\/[^\s]+)\n/);
  children.push(gw.child);
  const gatewayUrl = gw.match[1] as string;
  const pipe = await startChild(['test/bench/pipeProxy.mjs', `http://127.0.0.1:${ports.fast}`], {}, /(\{.*\})\n/);
  children.push(pipe.child);
  const pipePort = (JSON.parse(pipe.match[1] as string) as { port: number }).port;
  return { ports, config, gw, gatewayUrl, pipe, pipePort };
}

export async function benchGateway(): Promise<GatewayBenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'harombe-gwbench-'));
  const children: ChildProcess[] = [];
  const pools: Pool[] = [];
  const loadAverage = loadavg()[0] ?? 0;
  try {
    const { ports, config, gw, gatewayUrl, pipe, pipePort } = await startBenchProcesses(dir, children);

    const pool = (url: string) => {
      const p = new Pool(url, { connections: 64 });
      pools.push(p);
      return p;
    };
    const direct: Target = { name: 'direct', pool: pool(`http://127.0.0.1:${ports.fast}`), model: 'bench:fast' };
    const gateway: Target = { name: 'gateway', pool: pool(gatewayUrl), model: 'harombe' };
    const bare: Target = { name: 'pipe', pool: pool(`http://127.0.0.1:${pipePort}`), model: 'bench:fast' };

    const probe = await gateway.pool.request({ path: '/api/chat', method: 'POST', body: JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'stream a short answer please' }] }) });
    await probe.body.text();
    if (probe.headers['x-harombe-node'] !== 'fast') throw new Error(`the bench prompt was routed to ${String(probe.headers['x-harombe-node'])}, not the zero-delay node`);

    const rows: GatewayBenchRow[] = [];
    const tDirect = await ttfb(direct);
    const tGateway = await ttfb(gateway);
    const tPipe = await ttfb(bare);
    rows.push({ what: `TTFB, ${TTFB_REQUESTS} sequential streamed /api/chat after only 50 warm-up requests (JIT still cold), median / p95: direct`, figure: `${ms(tDirect.median)} / ${ms(tDirect.p95)}`, target: '' });
    rows.push({ what: '  … through the bare pipe proxy', figure: `${ms(tPipe.median)} / ${ms(tPipe.p95)}`, target: '' });
    rows.push({ what: '  … through the gateway (model `harombe`: classifier + routing)', figure: `${ms(tGateway.median)} / ${ms(tGateway.p95)}`, target: '' });
    const tCore = await coordinatorTtft(config);
    rows.push({ what: '  … coordinator.complete() in this process, no HTTP in front (time to first delta)', figure: `${ms(tCore.median)} / ${ms(tCore.p95)}`, target: '' });
    const layer = await layerOverhead();
    rows.push({ what: 'gateway HTTP layer alone (stub coordinator) vs bare node:http writing the same records, per request', figure: `${layer.gatewayUs.toFixed(0)} µs vs ${layer.bareUs.toFixed(0)} µs`, target: '' });
    rows.push({ what: '  … added by the gateway, JIT still cold, median (vs direct / vs pipe)', figure: `${ms(tGateway.median - tDirect.median)} / ${ms(tGateway.median - tPipe.median)}`, target: '' });

    const gwPid = gw.child.pid as number;
    const pipePid = pipe.child.pid as number;
    const idleRss = rssMb(gwPid, 'VmRSS');
    const pipeIdleRss = rssMb(pipePid, 'VmRSS');
    const peak = new PeakRss(gwPid);
    const pipePeak = new PeakRss(pipePid);
    for (const c of [1, 10, 50]) {
      const d = await load(direct, c, LOAD_SECONDS);
      const p = await load(bare, c, LOAD_SECONDS);
      const g = await load(gateway, c, LOAD_SECONDS);
      rows.push({
        what: `throughput at concurrency ${c}, req/s (15-token streams): direct / pipe / gateway`,
        figure: `${d.rps.toFixed(0)} / ${p.rps.toFixed(0)} / ${g.rps.toFixed(0)} (gateway = ${(g.rps / p.rps).toFixed(2)}× pipe)`,
        target: c === 50 ? '≥ 0.8× pipe' : '',
      });
      if (c === 50) rows.push({ what: 'latency p99 at concurrency 50: direct / pipe / gateway', figure: `${ms(d.p99)} / ${ms(p.p99)} / ${ms(g.p99)}`, target: '' });
    }
    peak.stop();
    pipePeak.stop();
    rows.push({ what: 'gateway RSS: before the load runs / max under load (sampled every 100 ms) / high-water mark', figure: `${idleRss.toFixed(1)} / ${peak.describe()} / ${rssMb(gwPid, 'VmHWM').toFixed(1)} MB`, target: '≤ 80 MB' });
    rows.push({ what: '  … the bare pipe proxy under the same load (plain node): before / max / high-water mark', figure: `${pipeIdleRss.toFixed(1)} / ${pipePeak.describe()} / ${rssMb(pipePid, 'VmHWM').toFixed(1)} MB`, target: '' });

    // The same TTFB runs again, now that the loads above have run every process's hot path tens
    // of thousands of times: V8 has optimised it, as in a gateway that has been serving a while.
    const wDirect = await ttfb(direct);
    const wGateway = await ttfb(gateway);
    const wPipe = await ttfb(bare);
    rows.push({ what: `TTFB, ${TTFB_REQUESTS} sequential streamed /api/chat after the loads (steady state), median / p95: direct / pipe / gateway`, figure: `${ms(wDirect.median)} / ${ms(wPipe.median)} / ${ms(wGateway.median)}; p95 ${ms(wDirect.p95)} / ${ms(wPipe.p95)} / ${ms(wGateway.p95)}`, target: '' });
    rows.push({ what: 'TTFB added by the gateway, steady state, median (vs direct / vs pipe)', figure: `${ms(wGateway.median - wDirect.median)} / ${ms(wGateway.median - wPipe.median)}`, target: '≤ 0.4 ms vs direct' });

    // The memory settings the README offers: the same gateway started again with each, under the
    // same load, alternating with the pipe so that both see the same moments of this shared machine.
    const underLoad = async (target: Target, pid: number, against?: Target) => {
      await load(target, 10, 0.5);
      const peak = new PeakRss(pid);
      let rps = 0;
      let againstRps = 0;
      for (let round = 0; round < LEAN_ROUNDS; round++) {
        rps += (await load(target, 50, LOAD_SECONDS / LEAN_ROUNDS)).rps / LEAN_ROUNDS;
        if (against) againstRps += (await load(against, 50, LOAD_SECONDS / LEAN_ROUNDS)).rps / LEAN_ROUNDS;
      }
      peak.stop();
      return { peak: peak.describe(), rps, againstRps };
    };
    const leanGateway = async (what: string, nodeArgs: string[], env: NodeJS.ProcessEnv, home: string) => {
      const started = await startChild([...nodeArgs, 'dist/cli.js', '--config', join(dir, 'harombe.yaml'), 'serve', '--port', '0'], { HAROMBE_HOME: join(dir, home), ...env }, /listening on (http:\/\/[^\s]+)\n/);
      children.push(started.child);
      const m = await underLoad({ name: what, pool: pool(started.match[1] as string), model: 'harombe' }, started.child.pid as number, bare);
      rows.push({ what: `  … ${what}: max RSS under load; req/s at 50 against the pipe's, in alternation`, figure: `${m.peak}; ${m.rps.toFixed(0)} vs ${m.againstRps.toFixed(0)} req/s (${(m.rps / m.againstRps).toFixed(2)}× pipe)`, target: '' });
    };
    await leanGateway(`the gateway with NODE_OPTIONS="${LEAN_NODE_OPTIONS}"`, [], { NODE_OPTIONS: LEAN_NODE_OPTIONS }, 'home-lean');
    await leanGateway(`the gateway as \`node ${LEANEST_NODE_ARGS.join(' ')} dist/cli.js serve\``, LEANEST_NODE_ARGS, {}, 'home-leanest');
    // The floor for the leanest setting: the bare pipe with the same flags.
    const leanPipe = await startChild([...LEANEST_NODE_ARGS, 'test/bench/pipeProxy.mjs', `http://127.0.0.1:${ports.fast}`], {}, /(\{.*\})\n/);
    children.push(leanPipe.child);
    const leanPipePort = (JSON.parse(leanPipe.match[1] as string) as { port: number }).port;
    const p = await underLoad({ name: 'lean pipe', pool: pool(`http://127.0.0.1:${leanPipePort}`), model: 'bench:fast' }, leanPipe.child.pid as number);
    rows.push({ what: '  … the bare pipe proxy with the same flags: max RSS under load; req/s at 50', figure: `${p.peak}; ${p.rps.toFixed(0)} req/s`, target: '' });

    const slowDirect: Target = { name: 'slow direct', pool: pool(`http://127.0.0.1:${ports.slow}`), model: 'bench:slow' };
    const slowGateway: Target = { name: 'slow gateway', pool: pool(gatewayUrl), model: 'bench:slow' };
    const runs = 10;
    const sd: Timed[] = [];
    const sg: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      sd.push(await streamOnce(slowDirect, true));
      sg.push(await streamOnce(slowGateway, true));
    }
    const med = (xs: number[]) => percentile(xs, 0.5) ?? NaN;
    const gaps = (t: Timed[]) => med(t.flatMap((x) => x.arrivals.slice(1).map((a, i) => a - (x.arrivals[i] as number))));
    rows.push({
      what: `5 ms/token stream (${runs} runs), first byte direct / gateway; chunks arrived; median gap`,
      figure: `${ms(med(sd.map((x) => x.ttfbMs)))} / ${ms(med(sg.map((x) => x.ttfbMs)))}; ${med(sd.map((x) => x.arrivals.length))} / ${med(sg.map((x) => x.arrivals.length))} chunks; ${ms(gaps(sd))} / ${ms(gaps(sg))}`,
      target: 'token by token',
    });
    rows.push({ what: `machine: ${cpus().length} cores, load average at start ${loadAverage.toFixed(2)} (other processes share the CPUs; figures are noisy above ~1)`, figure: '', target: '' });
    return rows;
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await stopChildren(children);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

if (require.main === module) {
  const started = performance.now();
  benchGateway().then(
    (rows) => {
      for (const r of rows) process.stdout.write(`${r.what.padEnd(92)} ${r.figure.padEnd(44)} ${r.target}\n`);
      process.stdout.write(`(${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
