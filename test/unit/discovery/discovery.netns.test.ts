import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespacePair, repoRoot, type Line, type NamespacePair, type Proc } from './netns';
import { strictTests } from '../../vscode/strictTests';
import { seededRandom } from '../../fakes/seededRandom';

/**
 * Discovery end to end with real multicast: `harombe start` (with a fake Ollama behind it) announces
 * in namespace A; a Coordinator with `discovery.method: mdns` runs in namespace B with a trusted
 * configured node of its own. Needs root to make namespaces; CI runs as root and must run this.
 */

const NAME = 'gpu-box';
const ID_1 = 'disc-node-id-one';
const ID_2 = 'disc-node-id-two';

const random = seededRandom();

describe('cluster discovery between network namespaces (real multicast)', function () {
  this.timeout(60_000);
  let net: NamespacePair | undefined;
  const dirs: string[] = [];
  let coordHome: string;
  let homeA1: string;
  let homeA2: string;

  before(function () {
    if (process.getuid?.() !== 0) strictTests.skip(this, 'creating network namespaces needs root; CI runs this as root');
    net = createNamespacePair('hrbdc', '232.8');
    const tmp = (p: string) => {
      const d = mkdtempSync(join(tmpdir(), p));
      dirs.push(d);
      return d;
    };
    coordHome = tmp('harombe-disc-coord-');
    homeA1 = tmp('harombe-disc-w1-');
    homeA2 = tmp('harombe-disc-w2-');
    writeFileSync(join(homeA1, 'node_id'), ID_1 + '\n');
    writeFileSync(join(homeA2, 'node_id'), ID_2 + '\n');
  });

  after(async function () {
    await net?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function startWorker(home: string, ollamaPort: number): Proc {
    return net!.run(
      net!.a,
      join(repoRoot, 'src/cli/main.ts'),
      ['start', '--host', net!.addrA, '--port', '8000', '--tier', '2', '--model', 'qwen2.5:72b', '--ollama', `http://127.0.0.1:${ollamaPort}`, '--name', NAME],
      { HAROMBE_HOME: home, HAROMBE_CONFIG: '', HAROMBE_AUTH_TOKEN: '' },
      home,
    );
  }

  it('shows an untrusted worker, never sends it prompts until trusted, removes it on goodbye, marks it unavailable after a crash, flags an impostor', async () => {
    const nsNet = net!;
    const rogueOllama = nsNet.run(nsNet.a, join(repoRoot, 'test/unit/discovery/fakeOllamaEntry.ts'), ['qwen2.5:72b']);
    const coord = nsNet.run(nsNet.b, join(repoRoot, 'test/unit/discovery/coordinatorEntry.ts'), [], { HAROMBE_HOME: coordHome });
    const ollamaPort = (await rogueOllama.line('the worker-side fake Ollama', (l) => l.event === 'ready', 15_000)).port as number;
    await coord.line('the coordinator', (l) => l.event === 'ready', 15_000);

    const isGpu = (l: Line) => l.event === 'node' && l.name === NAME;
    const chatRequests = () => rogueOllama.lines.filter((l) => l.event === 'request' && /^\/(api\/chat|api\/generate|api\/complete|v1\/chat\/completions)$/.test(l.path as string));
    let chatId = 0;
    const chat = async (tier: number) => {
      const id = ++chatId;
      coord.send({ cmd: 'chat', id, tier });
      return coord.line(`chat ${id}`, (l) => l.event === 'chat' && l.id === id, 10_000);
    };

    // 1. Announced in A, discovered in B: untrusted, at the address on the shared subnet.
    const w1 = startWorker(homeA1, ollamaPort);
    const listening = await w1.waitFor('the worker to listen', () => (w1.stderr.some((l) => l.includes('worker listening on')) ? Date.now() : undefined), 15_000);
    const appeared = await coord.line('gpu-box in the registry', isGpu, 10_000);
    const appearMs = appeared.t - listening;
    assert.equal(appeared.state, 'untrusted');
    assert.equal(appeared.host, nsNet.addrA);
    assert.equal(appeared.port, 8000);
    assert.equal(appeared.source, 'mdns');
    const notice = await coord.line('the discover notice', (l) => l.event === 'discover' && l.name === NAME, 5_000);
    assert.deepEqual([notice.model, notice.tier, notice.host, notice.nodeId], ['qwen2.5:72b', 2, nsNet.addrA, ID_1]);
    // Probed although untrusted: the worker asked its Ollama on the coordinator's behalf.
    await coord.line('a probe result for gpu-box', (l) => isGpu(l) && String(l.reason).includes('health: available'), 5_000);

    // 2. Untrusted: tier-2 prompts go to the trusted tier-0 node, never to the worker.
    for (let i = 0; i < 3; i++) {
      const r = await chat(2);
      assert.equal(r.node, 'local', JSON.stringify(r));
    }
    await new Promise((r) => setTimeout(r, 200)); // let any stray request show up in the fake's log
    assert.equal(chatRequests().length, 0, 'the untrusted worker got no prompt');
    assert.equal(rogueOllama.lines.filter((l) => l.event === 'request' && l.authorization !== null).length, 0, 'no Authorization header reached it');

    // 3. Trusted: pinned to its node id in the shared file; now it answers tier 2.
    coord.send({ cmd: 'trust', name: NAME });
    const trusted = await coord.line('trust', (l) => l.event === 'trusted' || l.event === 'trust-error', 5_000);
    assert.equal(trusted.event, 'trusted', JSON.stringify(trusted));
    const file = JSON.parse(readFileSync(join(coordHome, 'trusted-nodes.json'), 'utf8')) as { nodes: Record<string, { nodeId: string }> };
    assert.equal(file.nodes[NAME]?.nodeId, ID_1);
    const afterTrust = await chat(2);
    assert.equal(afterTrust.node, NAME, JSON.stringify(afterTrust));
    assert.ok(chatRequests().length >= 1 || (await rogueOllama.waitFor('the prompt at the worker', () => chatRequests().length >= 1, 2_000)));

    // 4. SIGTERM: the goodbye removes it.
    let from = coord.lines.length;
    const termAt = Date.now();
    w1.child.kill('SIGTERM');
    const removed = await coord.line('removal after goodbye', (l) => l.event === 'removed' && (l.names as string[]).includes(NAME), 5_000, from);
    const lost = coord.lines.slice(from).find((l) => l.event === 'lost' && l.name === NAME)!;
    const goodbyeMs = removed.t - termAt;
    assert.equal(await w1.exited, 0);

    // 5. Back with the same id: trusted again automatically, no new notice.
    from = coord.lines.length;
    const w1b = startWorker(homeA1, ollamaPort);
    const back = await coord.line('gpu-box back', isGpu, 15_000, from);
    const backTrusted = back.state !== 'untrusted' ? back : await coord.line('gpu-box trusted again', (l) => isGpu(l) && l.state !== 'untrusted', 5_000, from);
    assert.notEqual(backTrusted.state, 'untrusted');
    assert.equal(coord.lines.slice(from).filter((l) => l.event === 'discover' || l.event === 'impostor').length, 0);
    // Probed (not just optimistically available), and a moment later so the kill falls at some point of the probe interval.
    await coord.line('gpu-box probed available', (l) => isGpu(l) && l.state === 'available' && l.latencyMs !== null, 5_000, from);
    const pause = 300 + random.next() * 1500;
    console.log(`      kill after a pause of ${Math.round(pause)} ms (seed ${random.seed}: HAROMBE_TEST_SEED=${random.seed} replays it)`);
    await new Promise((r) => setTimeout(r, pause));

    // 6. SIGKILL: no goodbye; health probes make it unavailable.
    from = coord.lines.length;
    const killAt = Date.now();
    w1b.child.kill('SIGKILL');
    const down = await coord.line('gpu-box unavailable', (l) => isGpu(l) && l.state === 'unavailable', 6_000, from);
    const crashMs = down.t - killAt;
    assert.equal(coord.lines.slice(from).filter((l) => l.event === 'removed').length, 0, 'a crash is not a goodbye');

    // 7. Another machine under the trusted name (new node id): flagged, untrusted, gets nothing.
    from = coord.lines.length;
    const promptsBefore = chatRequests().length;
    startWorker(homeA2, ollamaPort);
    const impostor = await coord.line('the impostor warning', (l) => l.event === 'impostor', 15_000, from);
    assert.deepEqual([impostor.name, impostor.expectedId, impostor.actualId, impostor.host], [NAME, ID_1, ID_2, nsNet.addrA]);
    const now = await coord.line('gpu-box with the new id', (l) => isGpu(l) && l.nodeId === ID_2, 5_000, from);
    assert.equal(now.state, 'untrusted');
    const lastNode = [...coord.lines].reverse().find(isGpu)!;
    assert.equal(lastNode.state, 'untrusted');
    for (let i = 0; i < 2; i++) assert.equal((await chat(2)).node, 'local');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(chatRequests().length, promptsBefore, 'the impostor got no prompt');
    assert.equal(rogueOllama.lines.filter((l) => l.event === 'request' && l.authorization !== null).length, 0, 'no Authorization header ever reached the worker side');

    console.log(
      `      discovery: appeared ${appearMs} ms after the worker listened; goodbye: removed ${goodbyeMs} ms after SIGTERM ` +
        `(${removed.t - lost.t} ms after the goodbye arrived); crash: unavailable ${crashMs} ms after SIGKILL`,
    );
    assert.ok(removed.t - lost.t <= 100, `removed within 100 ms of the goodbye, took ${removed.t - lost.t} ms`);
    assert.ok(goodbyeMs < 1000, `removed within 1 s of SIGTERM, took ${goodbyeMs} ms`);
    assert.ok(crashMs <= 3000, `unavailable within 3 s of SIGKILL, took ${crashMs} ms`);
    assert.ok(appearMs < 3000, `appeared within 3 s, took ${appearMs} ms`);
  });

  it('harombe node list / trust / untrust and cluster status see and pin a worker from another namespace', async () => {
    const nsNet = net!;
    const cliHome = mkdtempSync(join(tmpdir(), 'harombe-disc-cli-'));
    const workerHome = mkdtempSync(join(tmpdir(), 'harombe-disc-w3-'));
    dirs.push(cliHome, workerHome);
    writeFileSync(join(workerHome, 'node_id'), 'cli-node-id\n');
    const configFile = join(cliHome, 'harombe.yaml');
    writeFileSync(configFile, 'cluster:\n  discovery:\n    method: mdns\n');
    const env = { HAROMBE_HOME: cliHome, HAROMBE_CONFIG: '', NO_COLOR: '1' };
    const cli = (...args: string[]) => nsNet.exec(nsNet.b, join(repoRoot, 'src/cli/main.ts'), args, env, cliHome);

    const w = nsNet.run(
      nsNet.a,
      join(repoRoot, 'src/cli/main.ts'),
      ['start', '--host', nsNet.addrA, '--port', '8001', '--tier', '1', '--model', 'qwen2.5:14b', '--ollama', 'http://127.0.0.1:9', '--name', 'cli-box'],
      { HAROMBE_HOME: workerHome, HAROMBE_CONFIG: '', HAROMBE_AUTH_TOKEN: '' },
      workerHome,
    );
    await w.waitFor('the worker to announce', () => w.stderr.some((l) => l.includes('mDNS: announced')), 15_000);

    const list = await cli('node', 'list', '--json', '--wait', '2');
    assert.equal(list.code, 0, list.stderr);
    const listed = (JSON.parse(list.stdout) as { nodes: { name: string; host: string; port: number; trust: string; node_id: string; state: string }[] }).nodes.find((n) => n.name === 'cli-box');
    assert.deepEqual(listed && [listed.host, listed.port, listed.trust, listed.node_id, listed.state], [nsNet.addrA, 8001, 'untrusted', 'cli-node-id', 'untrusted']);

    const status = await cli('--config', configFile, 'cluster', 'status', '--json');
    assert.equal(status.code, 0, status.stderr);
    const inStatus = (JSON.parse(status.stdout) as { nodes: { name: string; state: string; source: string }[] }).nodes.find((n) => n.name === 'cli-box');
    assert.deepEqual(inStatus && [inStatus.state, inStatus.source], ['untrusted', 'mdns']);

    const trust = await cli('node', 'trust', 'cli-box', '--wait', '5');
    assert.equal(trust.code, 0, trust.stderr);
    assert.match(trust.stdout, /pinned to node id cli-node-id/);
    const pins = JSON.parse(readFileSync(join(cliHome, 'trusted-nodes.json'), 'utf8')) as { nodes: Record<string, { nodeId: string }> };
    assert.equal(pins.nodes['cli-box']?.nodeId, 'cli-node-id');

    const again = await cli('node', 'list', '--json', '--wait', '2');
    const trusted = (JSON.parse(again.stdout) as { nodes: { name: string; trust: string; state: string }[] }).nodes.find((n) => n.name === 'cli-box');
    // Its Ollama is absent, so the worker reports itself degraded; what matters is that it is no longer untrusted.
    assert.deepEqual(trusted && [trusted.trust, trusted.state], ['trusted', 'degraded']);

    const table = await cli('node', 'list', '--wait', '1.5');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`cli-box[\\s│]+${nsNet.addrA.replace(/\./g, '\\.')}:8001[\\s│]+1[\\s│]+qwen2\\.5:14b[\\s│]+mdns[\\s│]+cli-node-id[\\s│]+SHA256:[A-Za-z0-9+/]{12}…[\\s│]+trusted[\\s│]`));

    const missing = await cli('node', 'trust', 'no-such-box', '--wait', '1');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No worker named "no-such-box"/);

    const untrust = await cli('node', 'untrust', 'cli-box');
    assert.equal(untrust.code, 0, untrust.stderr);
    const after = JSON.parse(readFileSync(join(cliHome, 'trusted-nodes.json'), 'utf8')) as { nodes: Record<string, unknown> };
    assert.equal(after.nodes['cli-box'], undefined);
  });
});
