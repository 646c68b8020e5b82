import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fakeReply } from '../../fakes/fakeReply';
import { ANSWER, REASONING, reasoning } from '../../fakes/reasoningSample';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { builtCli } from '../build/builtCli';

const root = resolve(__dirname, '../../..');
let cliPath = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the bundled CLI as a user would, with a private HAROMBE_HOME and no colours. */
function harombe(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

describe('harombe CLI', function () {
  this.timeout(30_000);
  let home: string;
  let cluster: FakeCluster;
  let env: NodeJS.ProcessEnv;

  before(() => {
    cliPath = builtCli();
  });

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), 'harombe-cli-'));
    cluster = await startFakeCluster(
      [
        { name: 'laptop', tier: 0, flavour: 'harombe' },
        { name: 'workstation', tier: 1 },
        { name: 'server', tier: 2, flavour: 'harombe' },
      ],
      { health: { timeout: 0.5 }, timeouts: { stall: 1 } },
    );
    const configFile = join(home, 'cluster.yaml');
    writeFileSync(configFile, cluster.yaml);
    env = { HAROMBE_CONFIG: configFile, HAROMBE_HOME: home };
  });

  afterEach(async () => {
    await cluster.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('prints --version and --help for every command', async () => {
    const v = await harombe(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
    for (const cmd of [[], ['cluster'], ['cluster', 'status'], ['cluster', 'test'], ['cluster', 'metrics'], ['chat'], ['classify'], ['config', 'check']]) {
      const h = await harombe([...cmd, '--help']);
      assert.equal(h.code, 0, `${cmd.join(' ')} --help`);
      assert.match(h.stdout, /^Usage: harombe/m);
    }
    const bad = await harombe(['cluster', 'nope']);
    assert.notEqual(bad.code, 0);
  });

  it('cluster status: the guide table, and --json in the documented shape', async () => {
    await cluster.node('workstation').setFault({ type: 'refuse' });
    const table = await harombe(['cluster', 'status'], { env });
    assert.equal(table.code, 0, table.stderr);
    for (const h of ['Name', 'Host', 'Tier', 'Model', 'Can', 'Context', 'Status', 'Latency', 'Load', 'Breaker']) assert.ok(table.stdout.includes(h), h);
    // Harombe's own window for an Ollama-backed node: 16k, within the model's 32k.
    assert.match(table.stdout, /laptop .*16k of 32k \(chosen\)/);
    assert.match(table.stdout, /laptop .*available/);
    assert.match(table.stdout, /workstation .*unavailable/);
    assert.match(table.stdout, /2\/3 nodes available/);

    const json = await harombe(['cluster', 'status', '--json'], { env });
    const parsed = JSON.parse(json.stdout) as { nodes: Record<string, unknown>[] };
    assert.equal(parsed.nodes.length, 3);
    for (const n of parsed.nodes) {
      for (const key of ['name', 'host', 'port', 'kind', 'tier', 'model', 'state', 'latency_ms', 'in_flight', 'breaker', 'source']) assert.ok(key in n, key);
      assert.deepEqual(Object.keys(n.breaker as object).sort(), ['retry_at', 'state']);
    }
    const ws = parsed.nodes.find((n) => n.name === 'workstation');
    assert.equal(ws?.state, 'unavailable');
    assert.equal(parsed.nodes.find((n) => n.name === 'laptop')?.state, 'available');
    assert.deepEqual(parsed.nodes.find((n) => n.name === 'laptop')?.context_window, { tokens: 16_384, max: 32_768, source: 'chosen' });
  });

  it('chat: a prompt no window holds is sent nowhere; the message says its size and the largest window; exit 1', async () => {
    const file = join(home, 'huge.ts');
    writeFileSync(file, 'export const table = [1, 2, 3].map((x) => ({ x, y: x * 2 }));\n'.repeat(6000));
    const res = await harombe(['chat', '--context-file', file, 'explain this'], { env });
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /This request needs ~\d+k tokens .* the largest window in the cluster is 16k tokens/);
    assert.match(res.stderr, /Nothing was sent/);
    for (const n of ['laptop', 'workstation', 'server']) assert.equal(cluster.node(n).requests.filter((r) => r.path === '/api/chat').length, 0, n);
  });

  it('cluster test: one line per node, a summary, exit 1 when a node fails its real chat', async () => {
    const ok = await harombe(['cluster', 'test'], { env });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /3\/3 nodes OK in \d/);
    assert.equal((ok.stdout.match(/✅/g) ?? []).length, 3);

    // Its model list still answers, only chat fails: the test must catch it.
    await cluster.node('server').setFault({ type: 'status', status: 500, body: { error: 'model failed to load' } });
    const bad = await harombe(['cluster', 'test'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /❌ server .*model failed to load/);
    assert.match(bad.stdout, /2\/3 nodes OK in/);
    const json = await harombe(['cluster', 'test', '--json'], { env });
    const parsed = JSON.parse(json.stdout) as { ok: boolean; passed: number; nodes: { name: string; ok: boolean }[] };
    assert.equal(parsed.ok, false);
    assert.equal(parsed.passed, 2);
  });

  it('chat: the answer on stdout once, the route on stderr; --json streams the coordinator events', async () => {
    const prompt = 'how do I reverse a list in Python?';
    const plain = await harombe(['chat', prompt], { env });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, fakeReply(undefined, [{ role: 'user', content: prompt }], 'qwen2.5:3b') + '\n');
    assert.match(plain.stderr, /tier 0 · laptop/);

    const json = await harombe(['chat', '--json', '--intent', 'tests', 'cover the parser'], { env });
    assert.equal(json.code, 0);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; node?: string; tier?: number });
    assert.equal(events[0]?.type, 'route');
    assert.equal(events[0]?.tier, 2);
    assert.ok(events.some((e) => e.type === 'delta'));
    assert.equal(events.at(-1)?.type, 'done');
    assert.ok(events.every((e) => ['route', 'thinking', 'delta', 'fallback', 'done', 'error', 'tool_calls'].includes(e.type)));
  });

  it('chat against a reasoning node: only the answer on stdout; the reasoning on stderr with --show-thinking, else nowhere', async () => {
    cluster.ollama('workstation').setOptions({ reply: ANSWER, reasoning: reasoning('content') });
    const r = await harombe(['chat', '--tier', '1', 'make total() shorter'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ANSWER + '\n');
    assert.ok(!r.stderr.includes('A first draft'), r.stderr);
    assert.match(r.stderr, /reasoning \d+ ms/);

    cluster.ollama('workstation').setOptions({ reasoning: reasoning('field') });
    const shown = await harombe(['chat', '--tier', '1', '--show-thinking', 'make total() shorter'], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, ANSWER + '\n');
    assert.ok(shown.stderr.includes(REASONING), shown.stderr);
  });

  it('chat: a node dying mid-answer leaves one complete answer on stdout, and says so on stderr', async () => {
    cluster.ollama('server').setOptions({ chunkDelayMs: 5 });
    await cluster.node('server').setFault({ type: 'die_mid_stream', afterChunks: 4 });
    const prompt = 'design a plugin system';
    const r = await harombe(['chat', '--tier', '2', prompt], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, fakeReply(undefined, [{ role: 'user', content: prompt }], 'qwen2.5:14b') + '\n');
    assert.match(r.stderr, /server failed .*continuing on workstation/);
  });

  it('chat reads a piped prompt, attaches a context file, and exits non-zero with a clear error when no node can answer', async () => {
    const ctx = join(home, 'snippet.py');
    writeFileSync(ctx, 'def f(x):\n    return x * 2\n');
    const r = await harombe(['chat', '--context-file', ctx], { env, input: 'what does this do?' });
    assert.equal(r.code, 0, r.stderr);
    const body = cluster.node('workstation').requests.find((q) => q.path === '/api/chat')?.body as { messages: { content: string }[] } | undefined;
    assert.ok(body, 'attached context is reasoning over code: tier 1');
    assert.match(body.messages.at(-1)?.content ?? '', /return x \* 2/);

    for (const n of ['laptop', 'workstation', 'server']) await cluster.node(n).setFault({ type: 'refuse' });
    const down = await harombe(['chat', 'hello'], { env });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /No node is available/);
  });

  it('classify: JSON Lines in order, an error line for bad input, exit 1 at the end', async () => {
    const input = [
      JSON.stringify({ prompt: 'what is a unit test?' }),
      'not json',
      JSON.stringify({ prompt: 'make it faster', intent: 'refactor' }),
      JSON.stringify({ prompt: 'x', context_chars: 30_000 }),
      JSON.stringify({ intent: 'chat' }),
    ].join('\n');
    const r = await harombe(['classify'], { input, env: {} });
    assert.equal(r.code, 1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { tier?: number; reasons?: string[]; error?: string });
    assert.equal(lines.length, 5);
    assert.equal(lines[0]?.tier, 0);
    assert.match(lines[1]?.error ?? '', /line 2/);
    assert.equal(lines[2]?.tier, 2);
    assert.equal(lines[3]?.tier, 2);
    assert.ok(lines[3]?.reasons?.length);
    assert.match(lines[4]?.error ?? '', /prompt/);
  });

  it('classify --explain: which rules, concepts and words decided, and the model\'s probabilities', async () => {
    const input = [JSON.stringify({ prompt: 'projeta um rate limiter pra nossa api pública com várias instâncias, com os trade-offs' }), JSON.stringify({ prompt: 'x', intent: 'tests' })].join('\n');
    const r = await harombe(['classify', '--explain'], { input, env: {} });
    assert.equal(r.code, 0, r.stderr);
    type Line = { tier: number; reasons: string[]; explain: { decided_by: string; rules: { tier: number }; model?: { tier: number; probabilities: number[] }; signals: string[] } };
    const [design, tests] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    assert.equal(design?.tier, 2);
    assert.equal(design?.explain.decided_by, 'model over rules');
    assert.ok((design?.explain.rules.tier ?? 2) < 2, 'the rules alone sent it lower');
    assert.equal(design?.explain.model?.tier, 2);
    assert.ok(design?.explain.signals.some((s) => /^\+\d+\.\d\d concept design$/.test(s)), design?.explain.signals.join(' | '));
    assert.equal(tests?.explain.decided_by, 'fixed rules');
    assert.deepEqual(tests?.reasons, ['tests intent']);
    // Without --explain the lines stay {"tier","reasons"}.
    const plain = await harombe(['classify'], { input, env: {} });
    assert.deepEqual(Object.keys(JSON.parse(plain.stdout.split('\n')[0] ?? '{}') as object), ['tier', 'reasons']);
  });

  it('config check: OK for a good file, file:line:col for a bad one', async () => {
    const good = await harombe(['config', 'check'], { env });
    assert.equal(good.code, 0, good.stdout);
    assert.match(good.stdout, /OK .*3 nodes/);
    const bad = join(home, 'bad.yaml');
    writeFileSync(bad, 'cluster:\n  nodes:\n    - name: a\n      host: h\n      model: m\n      tier: 7\n');
    const r = await harombe(['config', 'check', bad], { env: {} });
    assert.equal(r.code, 1);
    assert.ok(r.stdout.includes(`${bad}:6:13`), r.stdout);
    assert.match(r.stdout, /tier/);
    // Every other command refuses a broken config with the same pointer, exit 2.
    const status = await harombe(['--config', bad, 'cluster', 'status'], { env: {} });
    assert.equal(status.code, 2);
    assert.ok(status.stderr.includes(`${bad}:6:13`));
  });

  it('cluster metrics: figures from earlier runs, as a table, JSON and Prometheus text', async () => {
    await harombe(['chat', 'hi'], { env });
    await harombe(['chat', '--tier', '2', 'hello'], { env });
    const json = JSON.parse((await harombe(['cluster', 'metrics', '--json'], { env })).stdout) as {
      requests: number;
      routedByTier: Record<string, number>;
      nodes: Record<string, { requests: number }>;
    };
    assert.equal(json.requests, 2);
    assert.equal(json.routedByTier['2'], 1);
    assert.equal(json.nodes.laptop?.requests, 1);
    const prom = await harombe(['cluster', 'metrics', '--prometheus'], { env });
    assert.match(prom.stdout, /^harombe_node_requests_total\{node="server"\} 1$/m);
    const table = await harombe(['cluster', 'metrics'], { env });
    assert.match(table.stdout, /Routed: 2 requests \(tier 0: 1, tier 1: 0, tier 2: 1\)/);
  });
});
