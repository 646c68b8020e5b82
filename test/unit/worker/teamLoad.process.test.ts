import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeOllama } from '../../fakes/fakeOllama';

/** Real `harombe start` and `harombe cluster status` processes: admission, 503 + Retry-After, and the load the status shows. */

const root = resolve(__dirname, '../../..');
const cliPath = join(root, 'dist/cli.js');
const MODEL = 'qwen2.5:7b';

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { PATH: process.env.PATH, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

describe('team load (real worker and CLI processes)', function () {
  this.timeout(60_000);
  let home: string;
  let fake: FakeOllama;
  let plain: FakeOllama;
  let worker: ChildProcess;
  let url: string;

  before(() => {
    execFileSync(process.execPath, [join(root, 'esbuild.mjs')], { cwd: root, stdio: 'inherit' });
  });

  beforeEach(async () => {
    home = mkdtempSync(join(tmpdir(), 'harombe-team-'));
    // Each answer takes far longer than the test looks at it: the worker stays full until the test lets go.
    fake = await FakeOllama.start({ models: [MODEL], chunkDelayMs: 5_000, numParallel: 4 });
    plain = await FakeOllama.start({ models: [MODEL] });
    worker = spawn(process.execPath, [cliPath, 'start', '--port', '0', '--ollama', fake.url, '--model', MODEL, '--max-parallel', '2', '--max-queue', '1', '--no-mdns'], {
      env: { PATH: process.env.PATH, HAROMBE_HOME: home, HAROMBE_CONFIG: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    url = await new Promise<string>((res, rej) => {
      worker.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(err);
        if (m) res(m[1]!);
      });
      worker.on('exit', (code) => rej(new Error(`worker exited ${code}: ${err}`)));
    });
  });

  afterEach(async () => {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await fake.stop();
    await plain.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const leave = new AbortController();
  const chat = (content: string) =>
    fetch(`${url}/api/chat`, { method: 'POST', signal: leave.signal, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }] }) });
  const load = async () => (({ running, queued, max_parallel, max_queue }) => ({ running, queued, max_parallel, max_queue }))((await (await fetch(`${url}/load`)).json()) as { running: number; queued: number; max_parallel: number; max_queue: number });

  it('turns away what it cannot take with 503 + Retry-After, and cluster status shows the load as the worker reports it', async () => {
    const answers = [chat('a'), chat('b'), chat('c')];
    for (let i = 0; i < 400; i++) {
      const l = await load();
      if (l.running === 2 && l.queued === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const refused = await chat('d');
    assert.equal(refused.status, 503);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.match(((await refused.json()) as { error: string }).error, /server busy/);

    const port = new URL(url).port;
    const config = join(home, 'harombe.yaml');
    writeFileSync(
      config,
      [
        'cluster:',
        '  nodes:',
        `    - { name: gpu-1, host: 127.0.0.1, port: ${port}, kind: harombe, model: "${MODEL}", tier: 0 }`,
        `    - { name: plain, host: 127.0.0.1, port: ${plain.port}, kind: ollama, model: "${MODEL}", tier: 0 }`,
        '',
      ].join('\n'),
    );
    const status = await run(['--config', config, 'cluster', 'status'], { HAROMBE_HOME: home });
    assert.equal(status.code, 0, status.stderr);
    const gpuRow = status.stdout.split('\n').find((l) => l.includes('gpu-1')) ?? '';
    assert.match(gpuRow, /2\/2 running, 1 queued reported/, status.stdout);
    const plainRow = status.stdout.split('\n').find((l) => l.includes('plain')) ?? '';
    assert.match(plainRow, /0\/4 running local count \(Ollama reports no queue\)/, status.stdout);
    const json = await run(['--config', config, 'cluster', 'status', '--json'], { HAROMBE_HOME: home });
    const nodes = (JSON.parse(json.stdout) as { nodes: { name: string; load: { running: number; queued: number; source: string } }[] }).nodes;
    const gpu = nodes.find((n) => n.name === 'gpu-1')!;
    assert.equal(gpu.load.source, 'reported');
    assert.ok(gpu.load.running >= 1, JSON.stringify(gpu.load));
    assert.ok(fake.peakGenerating <= 2, `Ollama generated ${fake.peakGenerating} at once behind max_parallel 2`);
    // The clients leave: their turns are given back at once, and the load the worker reports is true again.
    leave.abort();
    await Promise.allSettled(answers);
    for (let i = 0; i < 200 && (await load()).running + (await load()).queued > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(await load(), { running: 0, queued: 0, max_parallel: 2, max_queue: 1 });
  });
});
