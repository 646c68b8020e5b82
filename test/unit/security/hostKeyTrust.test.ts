import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import { createStderrLogger } from '../../../src/cli/stderrLogger';
import { ClusterDiscovery, type ImpostorNotice, type WorkerSource } from '../../../src/core/nodes/clusterDiscovery';
import { FileTrustStore } from '../../../src/core/nodes/fileTrustStore';
import { HealthProber } from '../../../src/core/nodes/healthProber';
import type { DiscoveredWorker } from '../../../src/core/nodes/mdnsBrowser';
import { NodeRegistry } from '../../../src/core/nodes/nodeRegistry';
import type { ProbeResult } from '../../../src/core/nodes/probeResult';
import { Emitter } from '../../../src/core/util/emitter';
import { WorkerKey } from '../../../src/node/workerKey';
import { WorkerServer } from '../../../src/node/workerServer';
import { FakeOllama } from '../../fakes/fakeOllama';
import { FakePythonWorker } from '../../fakes/fakePythonWorker';
import { json, startStub, type StubServer } from '../nodes/stubServer';
import { testTokens } from '../../security/testTokens';

/** Issue 20: trust pinned to a worker's host key (as SSH pins host keys), and a refused token as its own state. */

const BREAKER = { failure_threshold: 5, timeout: 60, success_threshold: 2, half_open_timeout: 30 };
const TIMEOUTS = { connectTimeoutMs: 1_000, stallTimeoutMs: 30_000 };
const TOKEN: string = testTokens.worker;
const KEY_A = 'SHA256:' + 'A'.repeat(43);
const KEY_B = 'SHA256:' + 'B'.repeat(43);

class FakeSource implements WorkerSource {
  readonly find = new Emitter<DiscoveredWorker>();
  readonly lose = new Emitter<string>();
  readonly onDidFind = this.find.event;
  readonly onDidLose = this.lose.event;
  readonly workers: DiscoveredWorker[] = [];
  refresh(): void {}
  dispose(): void {}
}

const announced = (over: Partial<DiscoveredWorker> = {}): DiscoveredWorker => ({ name: 'gpu-box', host: '10.0.0.7', port: 8000, model: 'qwen2.5:72b', tier: 2, nodeId: 'id-1', addresses: ['10.0.0.7'], ...over });
const probeOf = (over: Partial<ProbeResult> = {}): ProbeResult => ({ name: 'gpu-box', kind: 'harombe', baseUrl: 'http://10.0.0.7:8000', state: 'available', latencyMs: 3, at: 1, nodeId: 'id-1', ...over });

describe('host keys and refused tokens (issue 20)', function () {
  this.timeout(15_000);
  const log: string[] = [];
  const logger = createStderrLogger('debug', (line) => log.push(line));
  let home: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'harombe-hostkey-'));
    log.length = 0;
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  describe('the prober', () => {
    let registry: NodeRegistry;
    let prober: HealthProber;
    let fake: FakeOllama;
    const stops: (() => Promise<unknown>)[] = [];
    const configure = (port: number, auth?: string) =>
      registry.setConfigNodes([{ name: 'w', host: '127.0.0.1', port, model: 'qwen2.5:14b', tier: 0, kind: 'harombe', max_parallel: 4, enabled: true, ...(auth && { auth }) }], TIMEOUTS);
    const startWorker = async (over: { token?: string; key?: WorkerKey } = {}) => {
      const w = await WorkerServer.start({ host: '127.0.0.1', port: 0, ollamaUrl: fake.url, model: 'qwen2.5:14b', tier: 0, version: '0.1.0', nodeId: 'id-w', maxParallel: 4, temperature: 0.7, upstreamTimeoutMs: 5000, logger, detectHardware: async () => ({}), healthCacheMs: 0, ...over });
      stops.push(() => w.stop(0));
      return w;
    };

    beforeEach(async () => {
      registry = new NodeRegistry({ breaker: BREAKER });
      prober = new HealthProber(registry, { intervalMs: 60_000, timeoutMs: 2_000 });
      fake = await FakeOllama.start({ models: ['qwen2.5:14b'] });
    });
    afterEach(async () => {
      prober.dispose();
      registry.dispose();
      for (const stop of stops.splice(0)) await stop();
      await fake.stop();
    });

    it('learns the fingerprint of the key a worker proves over a fresh nonce', async () => {
      const key = WorkerKey.loadOrCreate(home, logger);
      const w = await startWorker({ key });
      configure(w.port);
      const r = await prober.probe('w');
      assert.equal(r.state, 'available', r.reason);
      assert.equal(r.keyFingerprint, key.fingerprint);
      assert.equal(registry.get('w')?.keyFingerprint, key.fingerprint);
    });

    it('refuses a node that replays a signature it copied from the real worker', async () => {
      const key = WorkerKey.loadOrCreate(home, logger);
      const w = await startWorker({ key });
      const copied = (await (await fetch(`${w.url}/health?challenge=${'c'.repeat(32)}`)).json()) as Record<string, unknown>;
      const impostor: StubServer = await startStub({ '/health': json(200, copied) });
      stops.push(() => impostor.close());
      configure(impostor.port);
      const r = await prober.probe('w');
      assert.equal(r.state, 'unavailable');
      assert.match(r.reason ?? '', /key proof failed/);
      assert.equal(r.keyFingerprint, undefined);
    });

    it('takes a Harombe 0.3.1 worker (no key) as before: available, no fingerprint', async () => {
      const py = await FakePythonWorker.start({ model: 'qwen2.5:14b' });
      stops.push(() => py.stop());
      configure(Number(new URL(py.url).port));
      const r = await prober.probe('w');
      assert.equal(r.state, 'available', r.reason);
      assert.equal(r.keyFingerprint, undefined);
      assert.equal(r.api, 'complete');
    });

    it('shows a wrong token as "token refused", not as a healthy node', async () => {
      const w = await startWorker({ token: TOKEN });
      configure(w.port, `${TOKEN}x`);
      const r = await prober.probe('w');
      assert.equal(r.state, 'unavailable');
      assert.equal(r.tokenRefused, true);
      assert.match(r.reason ?? '', /token refused/);
      assert.equal(registry.get('w')?.tokenRefused, true);
      assert.equal(registry.isEligible('w'), false);
      configure(w.port, TOKEN);
      const ok = await prober.probe('w');
      assert.equal(ok.state, 'available', ok.reason);
      assert.equal(registry.get('w')?.tokenRefused, undefined);
    });

    it('shows a worker that needs a token, probed without one, as "token refused"', async () => {
      const w = await startWorker({ token: TOKEN });
      configure(w.port);
      const r = await prober.probe('w');
      assert.equal(r.state, 'unavailable');
      assert.equal(r.tokenRefused, true);
    });
  });

  describe('trust pinned to the key', () => {
    let registry: NodeRegistry;
    let source: FakeSource;
    let store: FileTrustStore;
    let discovery: ClusterDiscovery;
    let impostors: ImpostorNotice[];

    beforeEach(() => {
      registry = new NodeRegistry({ breaker: BREAKER });
      source = new FakeSource();
      store = new FileTrustStore(home);
      impostors = [];
      discovery = new ClusterDiscovery({ registry, source, trustStore: store, probe: async () => undefined, logger });
      discovery.onDidDetectImpostor((n) => impostors.push(n));
    });
    afterEach(() => {
      discovery.dispose();
      registry.dispose();
    });

    it('pins the key at trust time, and refuses the same name and id with another key', async () => {
      source.find.fire(announced());
      registry.applyProbe('gpu-box', probeOf({ keyFingerprint: KEY_A }));
      const pin = discovery.trust('gpu-box');
      assert.equal(pin.keyFingerprint, KEY_A);
      assert.equal((JSON.parse(readFileSync(store.file, 'utf8')) as { nodes: Record<string, { keyFingerprint?: string }> }).nodes['gpu-box']?.keyFingerprint, KEY_A);
      // An impostor copies name and node id (both public), but proves another key.
      registry.applyProbe('gpu-box', probeOf({ keyFingerprint: KEY_B }));
      await nextTick();
      await nextTick();
      assert.equal(registry.get('gpu-box')?.state, 'untrusted');
      assert.equal(registry.isEligible('gpu-box'), false);
      assert.equal(impostors.at(-1)?.via, 'key');
      assert.equal(impostors.at(-1)?.actualKey, KEY_B);
      assert.ok(log.some((l) => l.includes('HOST KEY CHANGED')), log.join('\n'));
    });

    it('refuses a pinned node that answers without any key', async () => {
      source.find.fire(announced());
      registry.applyProbe('gpu-box', probeOf({ keyFingerprint: KEY_A }));
      discovery.trust('gpu-box');
      registry.applyProbe('gpu-box', probeOf({}));
      await nextTick();
      await nextTick();
      assert.equal(registry.get('gpu-box')?.state, 'untrusted');
      assert.equal(impostors.at(-1)?.actualKey, undefined);
    });

    it('does not trust a re-announcement until a probe proves the pinned key', async () => {
      writeFileSync(store.file, JSON.stringify({ version: 1, nodes: { 'gpu-box': { nodeId: 'id-1', keyFingerprint: KEY_A } } }));
      source.find.fire(announced());
      assert.equal(registry.get('gpu-box')?.state, 'untrusted', 'the announcement alone is copyable');
      registry.applyProbe('gpu-box', probeOf({ keyFingerprint: KEY_A }));
      await nextTick();
      await nextTick();
      assert.equal(registry.get('gpu-box')?.state, 'available');
      assert.equal(registry.isEligible('gpu-box'), true);
    });

    it('migrates a trust from before keys: the first probe with a key pins it, a later other key is refused', async () => {
      writeFileSync(store.file, JSON.stringify({ version: 1, nodes: { 'gpu-box': { nodeId: 'id-1' } } }));
      source.find.fire(announced());
      assert.equal(registry.get('gpu-box')?.state, 'available');
      registry.applyProbe('gpu-box', probeOf({ keyFingerprint: KEY_A }));
      await nextTick();
      await nextTick();
      assert.equal(store.get('gpu-box')?.keyFingerprint, KEY_A);
      registry.applyProbe('gpu-box', probeOf({ keyFingerprint: KEY_B }));
      await nextTick();
      await nextTick();
      assert.equal(registry.get('gpu-box')?.state, 'untrusted');
    });

    it('keeps a Harombe 0.3.1 worker (never a key) trusted by its id, as before', async () => {
      writeFileSync(store.file, JSON.stringify({ version: 1, nodes: { 'gpu-box': { nodeId: 'id-1' } } }));
      source.find.fire(announced());
      registry.applyProbe('gpu-box', probeOf({}));
      await nextTick();
      await nextTick();
      assert.equal(registry.get('gpu-box')?.state, 'available');
      assert.equal(store.get('gpu-box')?.keyFingerprint, undefined);
    });
  });
});
