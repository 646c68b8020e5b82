import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { builtCli } from '../build/builtCli';


async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('harombe serve follows harombe.yaml', function () {
  this.timeout(30_000);
  let cluster: FakeCluster;
  let dir: string;
  let child: ChildProcess | undefined;

  let cliPath = '';
  before(() => (cliPath = builtCli()));
  afterEach(async () => {
    child?.kill('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a good edit, and keeps the last good config on a broken one, pointing at the line', async () => {
    cluster = await startFakeCluster([{ name: 'a', tier: 0 }, { name: 'b', tier: 1 }]);
    dir = mkdtempSync(join(tmpdir(), 'harombe-serve-'));
    const file = join(dir, 'harombe.yaml');
    const full = JSON.parse(cluster.yaml) as { cluster: { nodes: unknown[] } };
    const one = { cluster: { ...full.cluster, nodes: full.cluster.nodes.slice(0, 1) } };
    writeFileSync(file, JSON.stringify(one, null, 2));
    child = spawn(process.execPath, [cliPath, '--config', file, 'serve', '--port', '0'], { env: { ...process.env, HAROMBE_HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await until(async () => /listening on (http:\/\/\S+)/.exec(stdout)?.[1], 10_000, 'the gateway');
    const names = async () => ((await (await fetch(`${url}/cluster/status`)).json()) as { nodes: { name: string }[] }).nodes.map((n) => n.name).sort();
    assert.deepEqual(await names(), ['a']);

    writeFileSync(file, JSON.stringify(full, null, 2));
    await until(async () => ((await names()).length === 2 ? true : undefined), 5000, 'the reload');
    assert.deepEqual(await names(), ['a', 'b']);

    writeFileSync(file, 'cluster:\n  nodes:\n    - name: a\n      tier: [oops\n');
    await until(async () => (stderr.includes(`${file}:`) ? true : undefined), 5000, 'the error report');
    assert.match(stderr, /keeping the last good one/);
    assert.deepEqual(await names(), ['a', 'b'], 'the last good config stays active');

    const exit = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
    child = undefined;
  });
});
