import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

/**
 * Real multicast between two network namespaces joined by a veth pair: `harombe start` announces
 * in one, an MdnsBrowser browses in the other. Needs root (CI runs as root; there it must run).
 */

const PREFIX = 'hrbmd';
const NS_A = `${PREFIX}-a-${process.pid}`;
const NS_B = `${PREFIX}-b-${process.pid}`;
// Private addresses that exist only inside the two namespaces this test makes.
const ADDR_A = '10.231.7.1';
const ADDR_B = '10.231.7.2';
const ADDR_A_OTHER = '10.231.99.1';
const NODE_ID = 'netns-node-0001';
const repo = resolve(__dirname, '../../..');
// Absolute, because the worker runs with a temporary directory as its working directory.
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;

interface Line {
  event: string;
  t: number;
  at?: number;
  name?: string;
  worker?: { name: string; host: string; port: number; model: string; tier: number; nodeId?: string; version?: string; addresses: string[] };
  health?: { status?: number; body?: { status?: string; model?: string; node_id?: string }; error?: string };
}

/** A child process whose output lines are collected and can be waited for. */
class Proc {
  readonly lines: Line[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as Line);
      } catch {
        this.stderr.push(`stdout: ${l}`);
      }
      this.wake();
    });
    createInterface({ input: child.stderr! }).on('line', (l) => {
      this.stderr.push(`${Date.now()} ${l}`);
      this.wake();
    });
    this.exited = new Promise((res) => child.on('exit', (code) => res(code)));
  }

  /** Waits until `test` holds, checking after every line of output. */
  async waitFor<T>(what: string, test: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = test();
      if (v !== undefined && v !== false) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${this.stderr.join('\n')}`);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          res();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function netnsList(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

/** Namespaces left by a run that crashed (its pid is gone); namespaces of a run still going are left alone. */
function removeStaleNamespaces(): void {
  for (const name of netnsList()) {
    const m = new RegExp(`^${PREFIX}-[ab]-(\\d+)$`).exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive || Number(m[1]) === process.pid) {
      try {
        ip('netns', 'del', name);
      } catch {
        // Already gone.
      }
    }
  }
}

function inNamespace(ns: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Proc {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', tsxLoader, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(child);
}

describe('mDNS between network namespaces (real multicast)', function () {
  this.timeout(30_000);
  const procs: Proc[] = [];
  let home: string;

  before(function () {
    if (process.getuid?.() !== 0) {
      console.log('      (skipped: creating network namespaces needs root; CI runs this as root)');
      this.skip();
    }
    removeStaleNamespaces();
    ip('netns', 'add', NS_A);
    ip('netns', 'add', NS_B);
    ip('link', 'add', 'vha', 'netns', NS_A, 'type', 'veth', 'peer', 'name', 'vhb', 'netns', NS_B);
    ip('-n', NS_A, 'addr', 'add', `${ADDR_A}/24`, 'dev', 'vha');
    ip('-n', NS_B, 'addr', 'add', `${ADDR_B}/24`, 'dev', 'vhb');
    // A second interface on A, on a subnet B does not share: its address is announced too, and must not be picked.
    ip('-n', NS_A, 'link', 'add', 'vhx0', 'type', 'veth', 'peer', 'name', 'vhx1');
    ip('-n', NS_A, 'addr', 'add', `${ADDR_A_OTHER}/24`, 'dev', 'vhx0');
    for (const [ns, devs] of [[NS_A, ['lo', 'vha', 'vhx0', 'vhx1']], [NS_B, ['lo', 'vhb']]] as const) {
      for (const dev of devs) ip('-n', ns, 'link', 'set', dev, 'up');
    }
    ip('-n', NS_A, 'route', 'add', '224.0.0.0/4', 'dev', 'vha');
    ip('-n', NS_B, 'route', 'add', '224.0.0.0/4', 'dev', 'vhb');
    home = mkdtempSync(join(tmpdir(), 'harombe-netns-'));
    writeFileSync(join(home, 'node_id'), NODE_ID + '\n');
  });

  after(async function () {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 2000))])));
    for (const ns of [NS_A, NS_B]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Never created (skipped) or already gone.
      }
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  function startBrowser(): Proc {
    const p = inNamespace(NS_B, [join(repo, 'test/unit/worker/mdnsBrowseEntry.ts')], {}, repo);
    procs.push(p);
    return p;
  }

  function startWorker(name: string): Proc {
    const p = inNamespace(
      NS_A,
      [
        join(repo, 'test/unit/worker/startEntry.ts'), 'start',
        '--host', '0.0.0.0', '--port', '8000', '--model', 'qwen2.5:14b', '--tier', '2',
        // Nothing listens there: the worker reports itself degraded, which is all the browser needs.
        '--ollama', 'http://127.0.0.1:9', '--name', name,
      ],
      { HAROMBE_HOME: home, HAROMBE_CONFIG: '', HAROMBE_AUTH_TOKEN: '' },
      home,
    );
    procs.push(p);
    return p;
  }

  it('finds the worker with its TXT fields and announcing address, loses it on goodbye, keeps it after SIGKILL', async () => {
    const browser = startBrowser();
    await browser.waitFor('the browser to start', () => browser.lines.find((l) => l.event === 'ready'), 10_000);

    // 1. Announce and discover.
    const spawnedAt = Date.now();
    const worker = startWorker('netns-worker');
    const listeningAt = await worker.waitFor('the worker to listen', () => (worker.stderr.some((l) => l.includes('worker listening on')) ? Date.now() : undefined), 10_000);
    const announcedAt = await worker.waitFor('the announcement', () => (worker.stderr.some((l) => l.includes('mDNS: announced')) ? Date.now() : undefined), 10_000);
    const found = await browser.waitFor('the worker to be found', () => browser.lines.find((l) => l.event === 'found' && l.worker?.name === 'netns-worker'), 10_000);
    const w = found.worker!;
    assert.equal(w.host, ADDR_A, 'host is the address the announcement came from, on our subnet');
    assert.equal(w.port, 8000);
    assert.equal(w.model, 'qwen2.5:14b');
    assert.equal(w.tier, 2);
    assert.equal(w.nodeId, NODE_ID);
    assert.match(w.version ?? '', /^\d+\.\d+\.\d+/);
    assert.ok(w.addresses.includes(ADDR_A_OTHER), `the other interface's address is announced too: ${w.addresses.join(', ')}`);
    // The announced address works from the browser's namespace: the worker answers (degraded, its Ollama is absent).
    assert.equal(found.health?.status, 503, JSON.stringify(found.health));
    assert.equal(found.health?.body?.node_id, NODE_ID);
    // From the worker's first log line, so the time includes bonjour's name probe (3 queries 250 ms apart) but not Node's start-up.
    const appearMs = found.at! - listeningAt;
    console.log(
      `      discovery: found ${appearMs} ms after the worker started listening; ` +
        `${Math.max(0, found.at! - announcedAt)} ms after it logged its announcement; ${found.at! - spawnedAt} ms after spawning it`,
    );
    assert.ok(appearMs < 3000, `found within 3 s of listening, took ${appearMs} ms`);

    // 2. Goodbye on SIGTERM: lost at once, and the worker exits 0.
    const termAt = Date.now();
    worker.child.kill('SIGTERM');
    const lost = await browser.waitFor('the goodbye', () => browser.lines.find((l) => l.event === 'lost' && l.name === 'netns-worker'), 5_000);
    const goodbyeMs = lost.t - termAt;
    console.log(`      goodbye: lost ${goodbyeMs} ms after SIGTERM`);
    assert.ok(goodbyeMs < 2000, `lost within 2 s of SIGTERM, took ${goodbyeMs} ms`);
    assert.equal(await worker.exited, 0, 'the worker exits 0 after SIGTERM');

    // 3. SIGKILL: no goodbye can be sent, so the browser keeps the worker (health probes must notice).
    const killed = startWorker('netns-killed');
    await browser.waitFor('the second worker to be found', () => browser.lines.find((l) => l.event === 'found' && l.worker?.name === 'netns-killed'), 10_000);
    killed.child.kill('SIGKILL');
    await killed.exited;
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(browser.lines.find((l) => l.event === 'lost' && l.name === 'netns-killed'), undefined, 'no goodbye after SIGKILL');
  });
});
