/**
 * `npm run bench -- team`: many coordinators, one cluster. Three real `harombe start` workers
 * (max_parallel 2) in front of fake Ollamas in saturating mode (at most 2 answers at once, a fixed
 * time per token, an unbounded queue past that, as ollama/ollama#7758), and real `harombe serve`
 * processes, each driving eight concurrent multi-turn conversations with think time. The same
 * seeded trace three ways: (a) six coordinators counting only their own requests
 * (`HAROMBE_LOAD_SOURCE=local`, no admission queue limit at the workers: the behaviour before),
 * (b) six coordinators reading the load the workers report, with admission, (c) one coordinator
 * carrying all 48 conversations (the oracle: it sees every request). Then a fault: a coordinator
 * killed mid-answer, and how long until the worker's reported load is true again. Figures only.
 * Build first (`node esbuild.mjs`); run alone with `npx tsx test/bench/teamBench.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { percentile } from '../../src/core/metrics/clusterMetrics';
import { rendezvousPick } from '../../src/core/routing/rendezvous';
import { FakeOllama } from '../fakes/fakeOllama';

export interface TeamBenchRow {
  what: string;
  figure: string;
  target: string;
}

const root = resolve(__dirname, '../..');
const cli = join(root, 'dist/cli.js');
const MODEL = 'qwen2.5:7b';
const NODES = 3;
const MAX_PARALLEL = 2;
const COORDINATORS = 6;
const CONVERSATIONS_PER_COORDINATOR = 8;
const TURNS = 4;
/** 16 pieces of 30 ms: an answer takes about half a second on a free slot. */
const TOKEN_MS = 30;
const REPLY = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen';
/** Think time between turns, ms: the offered load is about 70 % of the cluster's 6 slots. */
const THINK_MS: [number, number] = [3500, 6500];
const START_SPREAD_MS = 4000;

interface Turn {
  ttftMs: number;
  totalMs: number;
  node: string | undefined;
  ok: boolean;
  preferred: boolean;
}

interface ModeResult {
  label: string;
  turns: Turn[];
  wallMs: number;
  share: Record<string, number>;
  peak: Record<string, number>;
  refused: number;
}

/** A small seeded PRNG (mulberry32): the same trace in every mode. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((res, rej) => {
    const look = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) res({ child, url: m[1] as string });
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => rej(new Error(`harombe ${args.join(' ')} exited ${code}:\n${out}`)));
  });
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((res) => {
          if (c.exitCode !== null || c.signalCode !== null) return res();
          c.once('exit', () => res());
          c.kill('SIGTERM');
        }),
    ),
  );
}

interface Cluster {
  fakes: FakeOllama[];
  workers: ChildProcess[];
  workerUrls: string[];
  nodeIds: Map<string, string>;
  config: string;
  home: string;
}

async function startCluster(admission: boolean): Promise<Cluster> {
  const home = mkdtempSync(join(tmpdir(), 'harombe-team-'));
  const fakes: FakeOllama[] = [];
  const workers: ChildProcess[] = [];
  const workerUrls: string[] = [];
  const nodeIds = new Map<string, string>();
  for (let i = 0; i < NODES; i++) {
    const fake = await FakeOllama.start({ models: [MODEL], reply: REPLY, chunkDelayMs: TOKEN_MS, numParallel: MAX_PARALLEL });
    fakes.push(fake);
    const nodeHome = join(home, `node-${i}`);
    // Before: nothing bounded the queue at a node (ollama#7758); now: the default, twice as deep as the node is wide.
    const queue = admission ? String(2 * MAX_PARALLEL) : '100000';
    const w = await spawnCli(['start', '--port', '0', '--ollama', fake.url, '--model', MODEL, '--max-parallel', String(MAX_PARALLEL), '--max-queue', queue, '--queue-wait', '60', '--no-mdns'], { HAROMBE_HOME: nodeHome, HAROMBE_CONFIG: '' }, /listening on (http:\/\/\S+)/);
    workers.push(w.child);
    workerUrls.push(w.url);
    const health = (await (await fetch(`${w.url}/health`)).json()) as { node_id: string };
    nodeIds.set(`gpu-${i}`, health.node_id);
  }
  const lines = ['cluster:', '  health: { interval: 2, timeout: 1 }', '  nodes:'];
  workerUrls.forEach((u, i) => {
    const url = new URL(u);
    lines.push(`    - { name: gpu-${i}, host: 127.0.0.1, port: ${url.port}, kind: harombe, model: "${MODEL}", tier: 0, max_parallel: ${MAX_PARALLEL} }`);
  });
  const config = join(home, 'harombe.yaml');
  writeFileSync(config, lines.join('\n') + '\n');
  return { fakes, workers, workerUrls, nodeIds, config, home };
}

async function startCoordinators(c: Cluster, n: number, localOnly: boolean): Promise<{ children: ChildProcess[]; urls: string[] }> {
  const children: ChildProcess[] = [];
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const env: NodeJS.ProcessEnv = { HAROMBE_HOME: join(c.home, `coord-${n}-${i}`), ...(localOnly && { HAROMBE_LOAD_SOURCE: 'local' }) };
    const s = await spawnCli(['--config', c.config, 'serve', '--port', '0'], env, /listening on (http:\/\/\S+)/);
    children.push(s.child);
    urls.push(s.url);
  }
  // Let every coordinator see every node once before the trace starts.
  await new Promise((r) => setTimeout(r, 2500));
  return { children, urls };
}

/** One streamed turn through a gateway: time to the first content byte, and to the end. */
async function turn(gateway: string, conv: string, messages: { role: string; content: string }[]): Promise<Omit<Turn, 'preferred'>> {
  const started = performance.now();
  try {
    const res = await fetch(`${gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': conv },
      body: JSON.stringify({ model: 'harombe', stream: true, messages }),
    });
    const node = res.headers.get('x-harombe-node') ?? undefined;
    if (res.status !== 200 || !res.body) {
      await res.text().catch(() => '');
      return { ttftMs: NaN, totalMs: NaN, node, ok: false };
    }
    let ttft: number | undefined;
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      const s = decoder.decode(chunk as Uint8Array, { stream: true });
      text += s;
      if (ttft === undefined && s.includes('"content":"')) ttft = performance.now() - started;
    }
    const ok = text.includes('[DONE]') && !text.includes('"error"');
    return { ttftMs: ttft ?? NaN, totalMs: performance.now() - started, node, ok };
  } catch {
    return { ttftMs: NaN, totalMs: performance.now() - started, node: undefined, ok: false };
  }
}

async function runTrace(label: string, c: Cluster, gateways: string[]): Promise<ModeResult> {
  const rand = prng(17);
  const plans = Array.from({ length: COORDINATORS * CONVERSATIONS_PER_COORDINATOR }, (_, i) => ({
    conv: `conv-${i}`,
    start: rand() * START_SPREAD_MS,
    thinks: Array.from({ length: TURNS }, () => THINK_MS[0] + rand() * (THINK_MS[1] - THINK_MS[0])),
  }));
  const ids = [...c.nodeIds.entries()];
  const preferredOf = (conv: string) => rendezvousPick(`session:${conv}`, ids, ([, id]) => id)?.[0];
  const turns: Turn[] = [];
  const started = performance.now();
  await Promise.all(
    plans.map(async (p, i) => {
      const gateway = gateways[Math.floor(i / CONVERSATIONS_PER_COORDINATOR) % gateways.length] as string;
      await new Promise((r) => setTimeout(r, p.start));
      const messages: { role: string; content: string }[] = [{ role: 'system', content: 'You are a helpful assistant.' }];
      for (let t = 0; t < TURNS; t++) {
        messages.push({ role: 'user', content: `${p.conv} turn ${t}: please explain` });
        const r = await turn(gateway, p.conv, messages);
        turns.push({ ...r, preferred: r.node !== undefined && r.node === preferredOf(p.conv) });
        messages.push({ role: 'assistant', content: REPLY });
        await new Promise((res) => setTimeout(res, p.thinks[t]));
      }
    }),
  );
  const wallMs = performance.now() - started;
  const share: Record<string, number> = {};
  for (const t of turns) if (t.node) share[t.node] = (share[t.node] ?? 0) + 1;
  const peak: Record<string, number> = {};
  c.fakes.forEach((f, i) => (peak[`gpu-${i}`] = f.peakGenerating));
  let refused = 0;
  for (const u of c.workerUrls) refused += ((await (await fetch(`${u}/load`)).json()) as { refused_total: number }).refused_total;
  return { label, turns, wallMs, share, peak, refused };
}

/** Kills a coordinator in the middle of an answer and times how long the worker takes to report its slot free again. */
async function coordinatorKilledMidStream(c: Cluster): Promise<number> {
  const { children, urls } = await startCoordinators(c, 1, false);
  const gateway = urls[0] as string;
  for (const f of c.fakes) f.setOptions({ chunkDelayMs: 500 });
  const res = await fetch(`${gateway}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'harombe', stream: true, messages: [{ role: 'user', content: 'long answer' }] }) });
  const reader = res.body!.getReader();
  await reader.read();
  const node = Number((res.headers.get('x-harombe-node') ?? 'gpu-0').split('-')[1]);
  const worker = c.workerUrls[node] as string;
  const before = ((await (await fetch(`${worker}/load`)).json()) as { running: number }).running;
  const killedAt = performance.now();
  children[0]!.kill('SIGKILL');
  let freedMs = NaN;
  for (let i = 0; i < 500; i++) {
    const l = (await (await fetch(`${worker}/load`)).json()) as { running: number; queued: number };
    if (l.running + l.queued < before) {
      freedMs = performance.now() - killedAt;
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await reader.cancel().catch(() => undefined);
  for (const f of c.fakes) f.setOptions({ chunkDelayMs: TOKEN_MS });
  await stopAll(children);
  return freedMs;
}

async function mode(label: string, opts: { admission: boolean; coordinators: number; localOnly: boolean }): Promise<{ result: ModeResult; killMs?: number }> {
  const c = await startCluster(opts.admission);
  try {
    const { children, urls } = await startCoordinators(c, opts.coordinators, opts.localOnly);
    process.stderr.write(`team bench: ${label}…\n`);
    const result = await runTrace(label, c, urls);
    await stopAll(children);
    const killMs = opts.admission && opts.coordinators > 1 ? await coordinatorKilledMidStream(c) : undefined;
    return { result, killMs };
  } finally {
    await stopAll(c.workers);
    await Promise.all(c.fakes.map((f) => f.stop()));
    rmSync(c.home, { recursive: true, force: true });
  }
}

function summarize(r: ModeResult): { ttft: [number, number, number]; waitP50: number; waitP95: number; lost: number; affinity: number; throughput: number } {
  const ok = r.turns.filter((t) => t.ok && Number.isFinite(t.ttftMs));
  const ttfts = ok.map((t) => t.ttftMs);
  const floor = Math.min(...ttfts);
  const waits = ttfts.map((t) => t - floor);
  return {
    ttft: [percentile(ttfts, 0.5) ?? NaN, percentile(ttfts, 0.95) ?? NaN, percentile(ttfts, 0.99) ?? NaN],
    waitP50: percentile(waits, 0.5) ?? NaN,
    waitP95: percentile(waits, 0.95) ?? NaN,
    lost: r.turns.length - ok.length,
    affinity: ok.filter((t) => t.preferred).length / Math.max(1, ok.length),
    throughput: (ok.length * 1000) / r.wallMs,
  };
}

export async function benchTeam(): Promise<TeamBenchRow[]> {
  const a = await mode('(a) 6 coordinators, local count only', { admission: false, coordinators: COORDINATORS, localOnly: true });
  const b = await mode('(b) 6 coordinators, reported load + admission', { admission: true, coordinators: COORDINATORS, localOnly: false });
  const c = await mode('(c) 1 coordinator, all load (oracle)', { admission: true, coordinators: 1, localOnly: false });
  const rows: TeamBenchRow[] = [];
  const f = (v: number) => `${Math.round(v)}`;
  const sums = [a, b, c].map((m) => ({ m: m.result, s: summarize(m.result) }));
  for (const { m, s } of sums) {
    const share = Object.keys(m.peak)
      .map((n) => `${n} ${(((m.share[n] ?? 0) * 100) / Math.max(1, m.turns.length)).toFixed(0)}%`)
      .join(' ');
    const peak = Object.values(m.peak).join('/');
    rows.push({ what: `team ${m.label}: TTFT p50 / p95 / p99`, figure: `${f(s.ttft[0])} / ${f(s.ttft[1])} / ${f(s.ttft[2])} ms`, target: m.label.startsWith('(b)') ? `p95 ≤ 1.25× (c), < (a)` : '' });
    rows.push({ what: `team ${m.label}: wait over the fastest TTFT p50 / p95`, figure: `${f(s.waitP50)} / ${f(s.waitP95)} ms`, target: '' });
    rows.push({ what: `team ${m.label}: share of turns; peak generating per node (max_parallel ${MAX_PARALLEL})`, figure: `${share}; peak ${peak}`, target: `peak ≤ ${MAX_PARALLEL}` });
    rows.push({ what: `team ${m.label}: turns/s, 503s at workers, lost, on the conversation's node`, figure: `${s.throughput.toFixed(2)}/s, ${m.refused}, ${s.lost} of ${m.turns.length}, ${(s.affinity * 100).toFixed(0)}%`, target: 'lost 0; ≥ 95 % while not saturated' });
  }
  const [sa, sb, sc] = sums.map((x) => x.s) as [ReturnType<typeof summarize>, ReturnType<typeof summarize>, ReturnType<typeof summarize>];
  rows.push({ what: 'team: (b) p95 TTFT ÷ (c), ÷ (a)', figure: `${(sb.ttft[1] / sc.ttft[1]).toFixed(2)}× / ${(sb.ttft[1] / sa.ttft[1]).toFixed(2)}×`, target: '≤ 1.25× / < 1×' });
  rows.push({ what: 'team fault: coordinator killed mid-answer → worker reports the slot free', figure: b.killMs === undefined || Number.isNaN(b.killMs) ? 'not freed' : `${f(b.killMs)} ms`, target: '≤ 2 s' });
  return rows;
}

if (require.main === module) {
  benchTeam().then(
    (rows) => {
      for (const r of rows) process.stdout.write(`${r.what}: ${r.figure}${r.target ? ` (target ${r.target})` : ''}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
