import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { builtCli } from '../build/builtCli';

let cliPath = '';

describe('harombe serve (the bundled CLI)', function () {
  this.timeout(60_000);
  let cluster: FakeCluster;
  let dir: string;
  let child: ChildProcess | undefined;

  before(() => {
    cliPath = builtCli();
  });
  beforeEach(async () => {
    cluster = await startFakeCluster([{ name: 'laptop', tier: 0 }]);
    dir = mkdtempSync(join(tmpdir(), 'harombe-serve-'));
    writeFileSync(join(dir, 'harombe.yaml'), cluster.yaml);
  });
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the URL it listens on, answers /health and a chat, and exits 0 on SIGTERM', async () => {
    const proc = spawn(process.execPath, [cliPath, '--config', join(dir, 'harombe.yaml'), 'serve', '--port', '0'], {
      env: { ...process.env, HAROMBE_HOME: join(dir, 'home'), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      proc.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /Harombe gateway listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
        if (m) resolveUrl(m[1] as string);
      });
      proc.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening: ${stderr}`)));
    });
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok', nodes_available: 1, nodes_total: 1 });
    const chat = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'harombe', messages: [{ role: 'user', content: 'hi' }], stream: false }) });
    assert.equal(chat.headers.get('x-harombe-node'), 'laptop');
    assert.match(((await chat.json()) as { message: { content: string } }).message.content, /^Hello from qwen2\.5:3b/);

    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  });
});
