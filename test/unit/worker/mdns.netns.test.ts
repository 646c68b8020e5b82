import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespacePair, ip, repoRoot, type NamespacePair, type Proc } from '../discovery/netns';
import { strictTests } from '../../vscode/strictTests';

/**
 * Real multicast between two network namespaces joined by a veth pair: `harombe start` announces
 * in one, an MdnsBrowser browses in the other. Needs root (CI runs as root; there it must run).
 */

// The pair's addresses are 10.231.7.1 (worker) and .2 (browser); this one is on a second
// interface of the worker's namespace, on a subnet the browser does not share.
const ADDR_A_OTHER = '10.231.99.1';
const NODE_ID = 'netns-node-0001';

interface WorkerLine {
  event: string;
  t: number;
  at?: number;
  name?: string;
  worker?: { name: string; host: string; port: number; model: string; tier: number; nodeId?: string; version?: string; addresses: string[] };
  health?: { status?: number; body?: { status?: string; model?: string; node_id?: string }; error?: string };
}

describe('mDNS between network namespaces (real multicast)', function () {
  this.timeout(30_000);
  let net: NamespacePair | undefined;
  let home: string;

  before(function () {
    if (process.getuid?.() !== 0) strictTests.skip(this, 'creating network namespaces needs root; CI runs this as root');
    net = createNamespacePair('hrbmd', '231.7');
    // A second interface on A, on a subnet B does not share: its address is announced too, and must not be picked.
    ip('-n', net.a, 'link', 'add', 'vhx0', 'type', 'veth', 'peer', 'name', 'vhx1');
    ip('-n', net.a, 'addr', 'add', `${ADDR_A_OTHER}/24`, 'dev', 'vhx0');
    for (const dev of ['vhx0', 'vhx1']) ip('-n', net.a, 'link', 'set', dev, 'up');
    home = mkdtempSync(join(tmpdir(), 'harombe-netns-'));
    writeFileSync(join(home, 'node_id'), NODE_ID + '\n');
  });

  after(async function () {
    await net?.cleanup();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  function startBrowser(): Proc<WorkerLine & { [key: string]: unknown }> {
    return (net as NamespacePair).run((net as NamespacePair).b, join(repoRoot, 'test/unit/worker/mdnsBrowseEntry.ts'), []);
  }

  function startWorker(name: string): Proc<WorkerLine & { [key: string]: unknown }> {
    const n = net as NamespacePair;
    return n.run(
      n.a,
      join(repoRoot, 'src/cli/main.ts'),
      [
        'start',
        '--host', '0.0.0.0', '--port', '8000', '--model', 'qwen2.5:14b', '--tier', '2',
        // Nothing listens there: the worker reports itself degraded, which is all the browser needs.
        '--ollama', 'http://127.0.0.1:9', '--name', name,
      ],
      { HAROMBE_HOME: home, HAROMBE_CONFIG: '', HAROMBE_AUTH_TOKEN: '' },
      home,
    );
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
    assert.equal(w.host, (net as NamespacePair).addrA, 'host is the address the announcement came from, on our subnet');
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
