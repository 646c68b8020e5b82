import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Ollama } from 'ollama';
import { FakeOllama } from '../fakes/fakeOllama';
import type { Fault } from '../fakes/fault';
import { createNamespacePair, type NamespacePair } from '../unit/discovery/netns';
import { FAULTY, runFaultCase, type FaultResult, type FaultTarget, type FaultyKind } from './faultCase';
import type { OfficialClient } from './officialClientCall';
import { strictTests } from '../vscode/strictTests';

const REQUESTS = 200;

/** A fault's name, when it reads differently in each protocol. */
type Label = string | Record<FaultyKind, string>;
const labelOf = (label: Label, kind: FaultyKind) => (typeof label === 'string' ? label : label[kind]);

/**
 * `opensBreaker: false`: 429 and 503 mean busy / rate-limited, which by design do not count against
 * the node (src/core/inference/nodeError.ts NOT_A_NODE_FAULT); those requests still fall back.
 * `stall`: the 10 MB case raises the stall timeout because the fake nodes share this process's event
 * loop, and building 50 × 10 MB records starves healthy fakes past 0.5 s on 2 cores.
 */
const FAULTS: { name: Label; fault: Fault; opensBreaker: boolean; stall?: number }[] = [
  { name: 'connection refused', fault: { type: 'refuse' }, opensBreaker: true },
  { name: 'dies before headers', fault: { type: 'die_before_headers' }, opensBreaker: true },
  { name: 'dies mid-stream after 3 chunks', fault: { type: 'die_mid_stream', afterChunks: 3 }, opensBreaker: true },
  { name: 'hangs without a byte', fault: { type: 'hang' }, opensBreaker: true },
  { name: 'trickles 1 byte/s', fault: { type: 'trickle', intervalMs: 1000 }, opensBreaker: true },
  { name: '500', fault: { type: 'status', status: 500 }, opensBreaker: true },
  { name: '502', fault: { type: 'status', status: 502 }, opensBreaker: true },
  { name: '503', fault: { type: 'status', status: 503 }, opensBreaker: false },
  { name: '429 with Retry-After', fault: { type: 'status', status: 429, retryAfter: 1 }, opensBreaker: false },
  { name: { ollama: 'garbage NDJSON', openai: 'garbage SSE' }, fault: { type: 'garbage' }, opensBreaker: true },
  { name: { ollama: '10 MB line', openai: '10 MB SSE event' }, fault: { type: 'oversized', bytes: 10 * 1024 * 1024 }, opensBreaker: true, stall: 3 },
  { name: { ollama: 'ends without final record', openai: 'ends without data: [DONE]' }, fault: { type: 'no_final' }, opensBreaker: true },
  { name: 'in-band error record after 3 chunks', fault: { type: 'error_mid_stream', afterChunks: 3 }, opensBreaker: true },
];

const TARGETS: FaultTarget[] = ['coordinator', 'gateway'];
const KINDS: FaultyKind[] = ['ollama', 'openai'];

/**
 * The faults that bend a stream rather than refuse it, for the gateway driven by the official
 * clients. `beforeFirstToken`: the faulty node fails before any text reaches the client, so every
 * failed attempt must be named in the `X-Harombe-Reason` of the answer that replaced it; later
 * failures can only show in /metrics for streamed calls (the headers are already out).
 */
const CLIENT_FAULTS: { name: Label; fault: Fault; beforeFirstToken: boolean }[] = [
  { name: 'dies mid-stream after 3 chunks', fault: { type: 'die_mid_stream', afterChunks: 3 }, beforeFirstToken: false },
  { name: { ollama: 'garbage NDJSON', openai: 'garbage SSE' }, fault: { type: 'garbage' }, beforeFirstToken: true },
  { name: { ollama: 'ends without final record', openai: 'ends without data: [DONE]' }, fault: { type: 'no_final' }, beforeFirstToken: false },
  { name: 'in-band error record after 3 chunks', fault: { type: 'error_mid_stream', afterChunks: 3 }, beforeFirstToken: false },
];
const CLIENTS: OfficialClient[] = ['ollama', 'openai'];

describe('fault matrix: node faults × 200 concurrent requests over a 3-tier cluster', function () {
  this.timeout(120_000);
  const results: FaultResult[] = [];
  const suiteStart = Date.now();

  after(() => {
    // Written even when a case fails, so the table shows what failed.
    const report = join(__dirname, '../../docs/reliability.md');
    // The hostile-input section is written by hostileFuzz.fuzz.ts (npm run fuzz); keep it across this rewrite.
    const hostile = /<!-- hostile-input:start -->[\s\S]*<!-- hostile-input:end -->\n/.exec(readFileSync(report, 'utf8'))?.[0] ?? '';
    writeFileSync(report, renderReport(results, Date.now() - suiteStart) + (hostile ? `\n${hostile}` : ''));
  });

  for (const kind of KINDS) {
    for (const { name, fault, opensBreaker, stall } of FAULTS) {
      for (const target of TARGETS) {
        const label = labelOf(name, kind);
        it(`${label} [${kind} node] → ${target}`, async () => {
          const r = await runFaultCase(label, fault, target, REQUESTS, stall, { faultyKind: kind });
          results.push(r);
          assert.equal(r.lost, 0, `requests lost:\n${r.problems.join('\n')}`);
          assert.equal(r.dupOrTruncated, 0, `answers duplicated or truncated:\n${r.problems.join('\n')}`);
          // Without this, 503 and 429 (which open no breaker) pass at 0 = 0 when the fault never bit.
          assert.ok(r.faultyAttempts > 0, 'the faulty node was never tried: the case tested nothing');
          assert.equal(r.fallbacksReported, r.faultyAttempts, 'every failed attempt on the faulty node is reported as a fallback');
          if (opensBreaker) assert.ok(r.takenOut, 'breaker opened (or the health prober took the node out first)');
          assert.ok(r.recovered, 'breaker closed again after the node came back');
        });
      }
    }
  }

  describe('the gateway driven by the official ollama and openai clients', () => {
    it("the fakes' in-band error record is one the official ollama client throws on", async () => {
      // The openai side of this check is in test/unit/fakes/fakeOpenAI.test.ts.
      const fake = await FakeOllama.start({ models: ['m'], reply: 'one two three four' });
      try {
        await fake.setFault({ type: 'error_mid_stream', afterChunks: 2, message: 'llama runner process has terminated' });
        let text = '';
        const chat = async () => {
          for await (const part of await new Ollama({ host: fake.url }).chat({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true })) text += part.message.content;
        };
        await assert.rejects(chat(), /llama runner process has terminated/);
        assert.equal(text, 'one two');
      } finally {
        await fake.stop();
      }
    });

    for (const client of CLIENTS) {
      for (const kind of KINDS) {
        for (const { name, fault, beforeFirstToken } of CLIENT_FAULTS) {
          const label = labelOf(name, kind);
          it(`${label} [${kind} node] → gateway, ${client} client`, async () => {
            const r = await runFaultCase(label, fault, 'gateway', REQUESTS, undefined, { faultyKind: kind, client });
            results.push(r);
            assert.equal(r.lost, 0, `calls that did not end in one complete, well-formed answer:\n${r.problems.join('\n')}`);
            assert.equal(r.dupOrTruncated, 0, `answers duplicated or truncated:\n${r.problems.join('\n')}`);
            assert.ok(r.faultyAttempts > 0, 'the faulty node was never tried: the case tested nothing');
            assert.equal(r.fallbacksReported, r.faultyAttempts, 'every failed attempt on the faulty node is counted in harombe_fallbacks_total');
            const inHeaders = r.headerFallbacks ?? NaN;
            assert.ok(inHeaders <= r.fallbacksReported, `${inHeaders} answers name a fallback in X-Harombe-Reason, but /metrics counts ${r.fallbacksReported}`);
            if (beforeFirstToken) assert.equal(inHeaders, r.faultyAttempts, 'every failed attempt is named in the X-Harombe-Reason of the answer that replaced it');
            assert.ok(r.takenOut, 'breaker opened (or the health prober took the node out first)');
            assert.ok(r.recovered, 'breaker closed again after the node came back');
          });
        }
      }
    }
  });

  describe('a link that goes down mid-stream (network namespaces)', function () {
    let net: NamespacePair | undefined;
    let remote = { host: '', port: 0 };

    before(async function () {
      if (process.getuid?.() !== 0) strictTests.skip(this, 'creating network namespaces needs root; CI runs this as root');
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
        assert.ok(r.faultyAttempts > 0, 'no request was on the remote node when the link went down: the case tested nothing');
        assert.equal(r.fallbacksReported, r.faultyAttempts, 'every failed attempt on the faulty node is reported as a fallback');
        assert.ok(r.takenOut, 'breaker opened (or the health prober took the node out first)');
        assert.ok(r.recovered, 'breaker closed again after the link came back');
      });
    }
  });
});

const KIND_LABEL: Record<FaultyKind, string> = { ollama: 'Ollama (NDJSON)', openai: 'OpenAI-compatible (SSE)' };

function clientLabel(r: FaultResult): string {
  if (r.client === 'complete()') return '`complete()`';
  if (r.client === 'fetch') return 'raw `fetch`, NDJSON `/api/chat`';
  return `official \`${r.client}\` ${packageVersion(r.client)}`;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '../../node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '';
  }
}

function renderReport(results: FaultResult[], wallMs: number): string {
  const yes = (b: boolean) => (b ? 'yes' : '**no**');
  const breakerCell = (r: FaultResult) => (r.breakerOpened ? 'yes' : r.takenOut ? 'no, health probe took it out first' : 'no');
  const recoverCell = (r: FaultResult) => (Number.isNaN(r.recoverMs) ? '—' : `${r.recoverMs} ms`);
  const matrix = results.filter((r) => r.client === 'complete()' || r.client === 'fetch');
  const official = results.filter((r) => r.client === 'ollama' || r.client === 'openai');
  const linkDown = results.filter((r) => r.fault.includes('link goes down'));
  const rows = matrix.map(
    (r) =>
      `| ${r.fault} | ${KIND_LABEL[r.faultyKind]} | ${r.target} | ${clientLabel(r)} | ${r.requests} | ${r.lost} | ${r.dupOrTruncated} | ${r.fallbacksReported}/${r.faultyAttempts} | ${breakerCell(r)} | ${yes(r.recovered)} | ${recoverCell(r)} |`,
  );
  const clientRows = official.map(
    (r) =>
      `| ${r.fault} | ${KIND_LABEL[r.faultyKind]} | ${clientLabel(r)} | ${r.requests} (${r.streamedCalls ?? 0} streamed) | ${r.lost} | ${r.dupOrTruncated} | ${r.fallbacksReported}/${r.faultyAttempts} | ${r.headerFallbacks ?? '—'} | ${breakerCell(r)} | ${yes(r.recovered)} | ${recoverCell(r)} |`,
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
    'Each case: 6 fake nodes (2 per tier, same model within a tier), the fault injected into `t1a`',
    '(tier 1 gets half of the load), 200 concurrent requests (coordinator: `complete()`; gateway: raw',
    'NDJSON `POST /api/chat` with `harombe:tierN`), stall timeout 0.5 s, breaker threshold 5 and cooldown 0.3 s.',
    '“Faulty node” is the API `t1a` speaks: a fake Ollama, or a fake OpenAI-compatible server (llama.cpp / vLLM style);',
    'every other node is a fake Ollama, so with an OpenAI `t1a` a failover also crosses protocols.',
    '429/503 mean busy/rate-limited and by design do not count against the node, so its breaker stays closed.',
    'The 10 MB case uses a 3 s stall timeout: fakes and coordinator share one event loop, and 50 × 10 MB records starve it.',
    'The in-band error record is Ollama’s `{"error":…}` line, or vLLM’s `data: {"error":{…}}` event followed by `data: [DONE]`.',
    'Then the fault is cleared and traffic is sent to `t1a` until its breaker is closed; “time to recover” is',
    'measured from clearing the fault. Fallbacks reported: fallbacks reported / failed attempts on the faulty node.',
    '',
    '| Fault | Faulty node | Target | Driven by | Requests | Lost | Dup/truncated | Fallbacks reported | Breaker opened | Recovered | Time to recover |',
    '|---|---|---|---|---:|---:|---:|---:|---|---|---:|',
    ...rows,
    '',
    '## The gateway under the official clients',
    '',
    'The same cluster and faults, but the gateway (`GatewayServer`) is driven the way applications drive it: by the',
    'official `ollama` npm client (`chat()` on `/api/chat`) and the official `openai` npm client',
    '(`chat.completions.create()` on `/v1/chat/completions`, `maxRetries: 0` so that no retry hides a lost call).',
    'Of the 200 calls, every tier gets 4 streamed calls then 4 that ask for one JSON, in turn. A call passes when the',
    'client does not throw, sees exactly one end of the answer (`done: true`; one `finish_reason` and the usage chunk),',
    'returns exactly one model’s whole reply, and the raw body under it (a tee of the client’s own `fetch`) is',
    'well-formed too: JSON lines with only the last `done: true`, or `data:` chunks of one completion ending with',
    '`data: [DONE]`, no error record. Both clients forgive what the wire must not carry (`ollama` skips lines that are',
    'not JSON, `openai` ends quietly without `[DONE]`), hence the wire check. Fallbacks are read from the gateway’s',
    '`/metrics` (`harombe_fallbacks_total` / `harombe_node_errors_total{node="t1a"}`). “Named in X-Harombe-Reason”:',
    'answers whose `X-Harombe-Reason` header says `fallback from t1a`; the headers go out with the first record, so',
    'a node that fails after streaming text can only be named there for calls that asked for one JSON, while a',
    'failure before the first token (garbage) must be named in every answer that replaced it.',
    '',
    '| Fault | Faulty node | Client | Calls | Lost | Dup/truncated | Fallbacks in /metrics | Named in X-Harombe-Reason | Breaker opened | Recovered | Time to recover |',
    '|---|---|---|---:|---:|---:|---:|---:|---|---|---:|',
    ...clientRows,
    '',
    ...renderLinkDown(linkDown),
  ].join('\n');
}

/** What the link-down rows' “time to recover” is made of, from the recovery loop's own timings. */
function renderLinkDown(results: FaultResult[]): string[] {
  if (results.length === 0) return [];
  const ms = (n: number) => `${Math.round(n)} ms`;
  const runs = results.map((r) => {
    const trials = r.recovery.filter((s) => s.answeredBy === FAULTY);
    const steps = r.recovery
      .map((s, i) => `turn ${i + 1}: sweep ${ms(s.sweepMs)} (\`${FAULTY}\` ${s.probed}), then one request ${ms(s.requestMs)} answered by \`${s.answeredBy}\`, breaker ${s.breakerAfter}`)
      .join('; ');
    const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
    const trialMs = sum(trials.map((s) => s.requestMs));
    const sweepMs = sum(r.recovery.map((s) => s.sweepMs));
    const otherMs = sum(r.recovery.filter((s) => s.answeredBy !== FAULTY).map((s) => s.requestMs));
    const rest = Number.isNaN(r.recoverMs) ? NaN : r.recoverMs - trialMs - sweepMs - otherMs;
    return (
      `- **${r.target}**: ${Number.isNaN(r.recoverMs) ? 'did not recover' : ms(r.recoverMs)} = ${trials.length} trial answers on \`${FAULTY}\` (${ms(trialMs)})` +
      ` + sweeps (${ms(sweepMs)}) + requests answered elsewhere while the breaker was still open (${ms(otherMs)}) + the loop's 100 ms pauses and scheduling (${ms(rest)}).` +
      ` Breaker when the link came back: ${r.breakerAtHeal}. ${steps}.`
    );
  });
  const threshold = results[0]?.successThreshold ?? 2;
  return [
    '## What the link-down case’s recovery time is made of',
    '',
    ...runs,
    '',
    `While the link is down the requests on \`${FAULTY}\` stall (0.5 s), 5 of them open its breaker, and the probe the`,
    'coordinator fires after each failure marks the node unavailable. After `ip link set … up` the recovery loop',
    'sweeps, then sends one request that prefers the node, and pauses 100 ms, until the breaker is closed. The parts:',
    '',
    `1. **Trial answers, the bulk of it.** The breaker's \`success_threshold\` is ${threshold} (the default; the matrix does not`,
    `   set it): ${threshold} trial requests must succeed on the node one after the other (a half-open breaker lets one trial`,
    '   through at a time; the first success only puts it on probation). Each trial is a whole answer from the node',
    '   in the namespace, which streams a record every 60 ms (test/faults/remoteNodeEntry.ts, slow on purpose so that',
    `   answers are mid-stream when the link drops): 16 records ≈ 1 s, so ≈ ${threshold} s. The other rows recover in`,
    '   about 0.3 s because their fakes stream a record every 1 ms and the cooldown dominates there.',
    '2. **The rest of the 0.3 s cooldown**, when a half-open trial that stalled while the link was down re-opened the',
    '   breaker shortly before the link came back (“Breaker when the link came back: open”): the first turns are then',
    '   answered by `t1b` in ≈ 20 ms each.',
    '3. **Sweeps**: normally a few ms, since the node answers over a fresh connection at once. A sweep of ≈ 1 s with',
    `   \`${FAULTY}\` still unavailable is a probe whose TCP connect hung (it started while the link was down): it lasts the`,
    '   connect timeout (`timeouts.connect`, 1 s here) instead of the probe timeout (`health.timeout`, 0.5 s here),',
    '   because `HealthProber` hands its deadline to undici as `signal`, and undici does not act on an abort before the',
    '   connection is made (nodeRequest.ts races the signal for exactly this reason; healthProber.ts does not).',
    '',
    'Not on the path: the health interval (2 s by default; 60 s in the matrix, whose loop sweeps on demand), and the',
    'probe timeout itself, because once the link is up the probe answers within milliseconds. With the default',
    'config (health interval 2 s, probe timeout 1 s, connect timeout 5 s, breaker cooldown 60 s) a real node whose',
    'breaker opened would be seen again at the next sweep (≤ 2 s after the link is back, or up to 5 s more with the',
    'hung-connect probe above), stay refused for the rest of the 60 s cooldown, and',
    'the next sweep (≤ 2 s after the link is back), stay refused for the rest of the breaker’s 60 s cooldown, and',
    `then need ${threshold} successful answers: its recovery time is governed by \`circuit_breaker.timeout\` and by how`,
    'long its answers take, not by the health settings.',
    '',
  ];
}
