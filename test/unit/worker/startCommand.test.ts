import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MdnsBrowser } from '../../../src/core/nodes/mdnsBrowser';
import type { DiscoveredWorker } from '../../../src/core/nodes/mdnsBrowser';
import { testTokens } from '../../security/testTokens';
import { builtCli } from '../build/builtCli';

/** `harombe start` as a real process of the CLI users run (the bundle of src/cli/main.ts): flags, config, exit codes, signals, what it logs. */

// Nothing listens on the discard port: the worker's Ollama is simply down in these tests.
const NO_OLLAMA = 'http://127.0.0.1:9';

interface Run {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves with the worker's URL once it logs that it listens; rejects if it exits first. */
  listening: Promise<string>;
}

function start(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd: string; home: string }): Run {
  const child = spawn(process.execPath, [builtCli(), ...args], {
    cwd: opts.cwd,
    env: { ...process.env, HAROMBE_HOME: opts.home, HAROMBE_CONFIG: '', HAROMBE_AUTH_TOKEN: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const listening = new Promise<string>((res, rej) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) res(m[1]!);
    });
    void exited.then((code) => rej(new Error(`exited with ${code} before listening:\n${err}`)));
  });
  listening.catch(() => undefined);
  return { child, stderr: () => err, exited, listening };
}

async function stop(run: Run): Promise<number | null> {
  run.child.kill('SIGTERM');
  return run.exited;
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function canListen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer()
      .once('error', () => res(false))
      .listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

describe('harombe start (process)', function () {
  this.timeout(20_000);
  let dir: string;
  let home: string;
  const running: Run[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'harombe-start-'));
    home = join(dir, 'home');
  });

  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  function run(args: string[], env?: NodeJS.ProcessEnv): Run {
    const r = start(args, { cwd: dir, home, env });
    running.push(r);
    return r;
  }

  it('rejects bad flags with a clear message and exit 2, starting nothing', async () => {
    writeFileSync(join(dir, 'empty-token'), '\n');
    const port = await freePort();
    const cases: [string[], RegExp][] = [
      [['--tier', '3'], /--tier <tier>.*'3' is invalid.*0 \(fast\), 1 \(balanced\) or 2 \(powerful\)/],
      [['--port', '70000'], /--port <port>.*'70000' is invalid.*0 to 65535/],
      [['--port', 'http'], /--port <port>.*'http' is invalid/],
      [['--max-parallel', '0'], /--max-parallel <n>.*'0' is invalid/],
      [['--ollama', 'ftp://box:11434'], /--ollama: "ftp:\/\/box:11434" must be an http:\/\/ or https:\/\/ URL/],
      [['--token-file', join(dir, 'missing')], /--token-file .*missing: no such file/],
      [['--token-file', join(dir, 'empty-token')], /--token-file .*empty-token: the file is empty/],
      [['--bogus'], /unknown option '--bogus'/],
    ];
    const results = await Promise.all(
      cases.map(async ([flags]) => {
        const r = run(['start', '--no-mdns', '--port', String(port), '--ollama', NO_OLLAMA, ...flags]);
        return { code: await r.exited, stderr: r.stderr() };
      }),
    );
    results.forEach(({ code, stderr }, i) => {
      const [flags, message] = cases[i]!;
      assert.equal(code, 2, `${flags.join(' ')}: exit code; stderr:\n${stderr}`);
      assert.match(stderr, message, `${flags.join(' ')}: message`);
      assert.doesNotMatch(stderr, /listening on/, `${flags.join(' ')}: started anyway`);
    });
    // Nothing was left listening on the port the bad runs were given.
    assert.equal(await canListen(port), true);
  });

  it('rejects a bad config with its file, line and column, and exit 2', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'model:\n  name: qwen2.5:14b\nserver:\n  port: eighty\n');
    const r = run(['-c', join(dir, 'bad.yaml'), 'start', '--no-mdns', '--ollama', NO_OLLAMA]);
    assert.equal(await r.exited, 2);
    assert.match(r.stderr(), /harombe start: invalid config/);
    assert.match(r.stderr(), /bad\.yaml:4:\d+ server\.port: /);
    assert.doesNotMatch(r.stderr(), /listening on|run with --help/);

    const missing = run(['-c', join(dir, 'nope.yaml'), 'start', '--no-mdns']);
    assert.equal(await missing.exited, 2);
    assert.match(missing.stderr(), /nope\.yaml.*not found/);
  });

  it('exits non-zero with a clear message when the port is taken', async () => {
    const first = run(['start', '--no-mdns', '--port', '0', '--ollama', NO_OLLAMA]);
    const url = await first.listening;
    const port = new URL(url).port;
    const second = run(['start', '--no-mdns', '--port', port, '--ollama', NO_OLLAMA]);
    assert.notEqual(await second.exited, 0);
    assert.match(second.stderr(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
  });

  it('reads the guide\'s node config, lets flags override it, keeps a stable node id, and exits 0 on SIGTERM', async () => {
    // The guide's node file, but on loopback and a free port: 0.0.0.0 must be asked for explicitly.
    const port = await freePort();
    writeFileSync(join(dir, 'harombe.yaml'), `model:\n  name: qwen2.5:14b\nserver:\n  host: 127.0.0.1\n  port: ${port}\nollama:\n  host: ${NO_OLLAMA}\n`);
    const r = run(['-c', join(dir, 'harombe.yaml'), 'start', '--no-mdns', '--tier', '2', '--max-parallel', '7']);
    const url = await r.listening;
    assert.equal(url, `http://127.0.0.1:${port}`);
    const res = await fetch(`${url}/health`);
    assert.equal(res.status, 503, 'degraded: its Ollama is down');
    const body = (await res.json()) as Record<string, unknown>;
    const nodeId = readFileSync(join(home, 'node_id'), 'utf8').trim();
    assert.match(nodeId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { status: body.status, model: body.model, tier: body.tier, max_parallel: body.max_parallel, node_id: body.node_id },
      { status: 'degraded', model: 'qwen2.5:14b', tier: 2, max_parallel: 7, node_id: nodeId },
    );
    assert.equal(await stop(r), 0);
    assert.match(r.stderr(), /SIGTERM received[\s\S]*stopped/);

    // Flags over the file; the same node id after a restart.
    const again = run(['-c', join(dir, 'harombe.yaml'), 'start', '--no-mdns', '--port', '0', '--model', 'llama3.2:3b']);
    const url2 = await again.listening;
    const body2 = (await (await fetch(`${url2}/health`)).json()) as Record<string, unknown>;
    assert.equal(body2.model, 'llama3.2:3b');
    assert.equal(body2.tier, 0, 'tier defaults to 0');
    assert.equal(body2.max_parallel, 4, 'max_parallel defaults to 4');
    assert.equal(body2.node_id, nodeId);
    again.child.kill('SIGINT');
    assert.equal(await again.exited, 0, 'exits 0 on SIGINT too');
  });

  it('announces a worker listening on loopback on loopback only, and says goodbye on SIGTERM', async () => {
    const browser = new MdnsBrowser({ interface: '127.0.0.1', bind: '0.0.0.0', requeryMs: 0 });
    try {
      const name = `start-loopback-${process.pid}`;
      const found = new Promise<DiscoveredWorker>((res) => browser.onDidFind((w) => w.name === name && res(w)));
      const lost = new Promise<void>((res) => browser.onDidLose((n) => n === name && res()));
      const r = run(['start', '--port', '0', '--ollama', NO_OLLAMA, '--model', 'phi3:mini', '--tier', '1', '--name', name]);
      const url = await r.listening;
      const w = await within(found, 5000, 'the announcement');
      assert.deepEqual(
        { host: w.host, port: w.port, model: w.model, tier: w.tier, nodeId: w.nodeId },
        { host: '127.0.0.1', port: Number(new URL(url).port), model: 'phi3:mini', tier: 1, nodeId: readFileSync(join(home, 'node_id'), 'utf8').trim() },
      );
      assert.match(r.stderr(), /announcing on this machine only/);
      r.child.kill('SIGTERM');
      await within(lost, 3000, 'the goodbye');
      assert.equal(await r.exited, 0);
    } finally {
      browser.dispose();
    }
  });

  it('takes the token from --token-file over $HAROMBE_AUTH_TOKEN over server.auth_token, and never logs it', async () => {
    const fileToken = testTokens.worker;
    const envToken = testTokens.env;
    const configToken = testTokens.config;
    const wrongToken = testTokens.wrong;
    writeFileSync(join(dir, 'token'), fileToken + '\n');
    chmodSync(join(dir, 'token'), 0o600);
    writeFileSync(join(dir, 'harombe.yaml'), `server:\n  auth_token: ${configToken}\n`);
    const cfg = ['-c', join(dir, 'harombe.yaml'), '--verbose', 'start', '--no-mdns', '--port', '0', '--ollama', NO_OLLAMA];

    const status = (url: string, token?: string) => fetch(`${url}/ready`, { headers: token ? { authorization: `Bearer ${token}` } : {} }).then((r) => r.status);
    const runs: [Run, string, string[]][] = [
      [run([...cfg, '--token-file', join(dir, 'token')], { HAROMBE_AUTH_TOKEN: envToken }), fileToken, [envToken, configToken]],
      [run(cfg, { HAROMBE_AUTH_TOKEN: envToken }), envToken, [configToken, fileToken]],
      [run(cfg), configToken, [envToken, fileToken]],
    ];
    for (const [r, good, others] of runs) {
      const url = await r.listening;
      // Right token: past auth (503 only because this worker's Ollama is down).
      assert.equal(await status(url, good), 503);
      for (const t of [...others, wrongToken, undefined]) assert.equal(await status(url, t), 401, `token ${t}`);
      assert.equal(await stop(r), 0);
      const log = r.stderr();
      assert.match(log, /auth on, token from/);
      assert.match(log, /rejected GET \/ready/);
      for (const t of [fileToken, envToken, configToken, wrongToken]) assert.equal(log.includes(t), false, `log shows ${t}:\n${log}`);
    }
  });
});
