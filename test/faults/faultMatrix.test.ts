import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Fault } from '../fakes/fault';
import { createNamespacePair, type NamespacePair } from '../unit/discovery/netns';
import { runFaultCase, type FaultResult, type FaultTarget } from './faultCase';

const REQUESTS = 200;

/**
 * `opensBreaker: false`: 429 and 503 mean busy / rate-limited, which by design do not count against
 * the node (src/core/inference/nodeError.ts NOT_A_NODE_FAULT); those requests still fall back.
 * `stall`: the 10 MB case raises the stall timeout because the fake nodes share this process's event
 * loop, and building 50 × 10 MB records starves healthy fakes past 0.5 s on 2 cores.
 */
const FAULTS: { name: string; fault: Fault; opensBreaker: boolean; stall?: number }[] = [
  { name: 'connection refused', fault: { type: 'refuse' }, opensBreaker: true },
  { name: 'dies before headers', fault: { type: 'die_before_headers' }, opensBreaker: true },
  { name: 'dies mid-stream after 3 chunks', fault: { type: 'die_mid_stream', afterChunks: 3 }, opensBreaker: true },
  { name: 'hangs without a byte', fault: { type: 'hang' }, opensBreaker: true },
  { name: 'trickles 1 byte/s', fault: { type: 'trickle', intervalMs: 1000 }, opensBreaker: true },
  { name: '500', fault: { type: 'status', status: 500 }, opensBreaker: true },
  { name: '502', fault: { type: 'status', status: 502 }, opensBreaker: true },
  { name: '503', fault: { type: 'status', status: 503 }, opensBreaker: false },
  { name: '429 with Retry-After', fault: { type: 'status', status: 429, retryAfter: 1 }, opensBreaker: false },
  { name: 'garbage NDJSON', fault: { type: 'garbage' }, opensBreaker: true },
  { name: '10 MB line', fault: { type: 'oversized', bytes: 10 * 1024 * 1024 }, opensBreaker: true, stall: 3 },
  { name: 'ends without final record', fault: { type: 'no_final' }, opensBreaker: true },
];

const TARGETS: FaultTarget[] = ['coordinator', 'gateway'];

describe('fault matrix: node faults × 200 concurrent requests over a 3-tier cluster', function () {
  this.timeout(120_000);
  const results: FaultResult[] = [];
  const suiteStart = Date.now();

  after(() => {
    // Written even when a case fails, so the table shows what failed.
    writeFileSync(join(__dirname, '../../docs/reliability.md'), renderReport(results, Date.now() - suiteStart));
  });

  for (const { name, fault, opensBreaker, stall } of FAULTS) {
    for (const target of TARGETS) {
      it(`${name} → ${target}`, async () => {
        const r = await runFaultCase(name, fault, target, REQUESTS, stall);
        results.push(r);
        assert.equal(r.lost, 0, 'requests lost');
        assert.equal(r.dupOrTruncated, 0, 'answers duplicated or truncated');
        assert.equal(r.fallbacksReported, r.faultyAttempts, 'every failed attempt on the faulty node is reported as a fallback');
        if (opensBreaker) assert.ok(r.takenOut, 'breaker opened (or the health prober took the node out first)');
        assert.ok(r.recovered, 'breaker closed again after the node came back');
      });
    }
  }

  describe('a link that goes down mid-stream (network namespaces)', function () {
    let net: NamespacePair | undefined;
    let remote = { host: '', port: 0 };

    before(async function () {
      if (process.getuid?.() !== 0) {
        console.log('      (skipped: creating network namespaces needs root; CI runs this as root)');
        this.skip();
      }
      // 10.233.9.0/24 exists only between these two namespaces; the veth ends are made inside them.
      net = createNamespacePair('hrbfl', '233.9');
      const node = net.run(net.b, join(__dirname, 'remoteNodeEntry.ts'), [net.addrB, 'qwen2.5:14b']);
      const ready = await node.line('remote node ready', (l) => l.event === 'ready', 20_000);
      remote = { host: net.addrB, port: Number(ready.port) };
    });

    after(async () => {
      await net?.cleanup();
    });

    for (const target of TARGETS) {
      it(`link down → ${target}`, async () => {
        const run = net!.run(net!.a, join(__dirname, 'linkDownEntry.ts'), [target, remote.host, String(remote.port), 'hdisc0']);
        const line = await run.line('link-down result', (l) => l.event === 'result', 90_000);
        const r = line.result as FaultResult;
        results.push(r);
        assert.equal(r.lost, 0, 'requests lost');
        assert.equal(r.dupOrTruncated, 0, 'answers duplicated or truncated');
        assert.equal(r.fallbacksReported, r.faultyAttempts, 'every failed attempt on the faulty node is reported as a fallback');
        assert.ok(r.takenOut, 'breaker opened (or the health prober took the node out first)');
        assert.ok(r.recovered, 'breaker closed again after the link came back');
      });
    }
  });
});

function renderReport(results: FaultResult[], wallMs: number): string {
  const yes = (b: boolean) => (b ? 'yes' : '**no**');
  const rows = results.map(
    (r) =>
      `| ${r.fault} | ${r.target} | ${r.requests} | ${r.lost} | ${r.dupOrTruncated} | ${r.fallbacksReported}/${r.faultyAttempts} | ${r.breakerOpened ? 'yes' : r.takenOut ? 'no, health probe took it out first' : 'no'} | ${yes(r.recovered)} | ${Number.isNaN(r.recoverMs) ? '—' : `${r.recoverMs} ms`} |`,
  );
  return [
    '# Reliability: fault matrix',
    '',
    'Written by `npm run test:faults` (test/faults/faultMatrix.test.ts); do not edit by hand.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${process.platform} ${process.arch}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    `- Suite time: ${(wallMs / 1000).toFixed(1)} s`,
    '',
    'Each case: 6 fake Ollama nodes (2 per tier, same model within a tier), the fault injected into `t1a`',
    '(tier 1 gets half of the load), 200 concurrent requests (coordinator: `complete()`; gateway: raw',
    'NDJSON `POST /api/chat` with `harombe:tierN`), stall timeout 0.5 s, breaker threshold 5 and cooldown 0.3 s.',
    '429/503 mean busy/rate-limited and by design do not count against the node, so its breaker stays closed.',
    'The 10 MB case uses a 3 s stall timeout: fakes and coordinator share one event loop, and 50 × 10 MB records starve it.',
    'Then the fault is cleared and traffic is sent to `t1a` until its breaker is closed; “time to recover” is',
    'measured from clearing the fault. Fallbacks reported: fallbacks reported / failed attempts on the faulty node.',
    '',
    '| Fault | Target | Requests | Lost | Dup/truncated | Fallbacks reported | Breaker opened | Recovered | Time to recover |',
    '|---|---|---:|---:|---:|---:|---|---|---:|',
    ...rows,
    '',
  ].join('\n');
}
