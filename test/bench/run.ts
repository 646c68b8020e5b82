/**
 * `npm run bench`: every benchmark, side by side in one run, printed as a table with its target.
 * Figures only; nothing here fails a build.
 */
import { cpus } from 'node:os';
import { benchActivation } from './activationBench';
import { benchClassify, percent } from './classifyBench';
import { benchContext } from './contextBench';
import { benchCompletion } from './completionBench';
import { benchClusterStatus, benchFailover, benchHealthSweep } from './coreBench';
import { benchDiscovery } from './discoveryBench';
import { benchGateway } from './gatewayBench';
import { benchTeam } from './teamBench';

interface Row {
  what: string;
  figure: string;
  target: string;
}

const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const want = (name: string) => only.length === 0 || only.includes(name);
  // Minutes of nine processes: only when asked for by name (`npm run bench -- team`).
  const wantNamed = (name: string) => only.includes(name);
  const rows: Row[] = [];
  process.stderr.write(`Harombe benchmarks on ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`);

  if (want('classify')) {
    const c = await benchClassify();
    rows.push({ what: `classify, µs per prompt (${c.prompts} prompts), median / p99`, figure: `${c.medianUs.toFixed(1)} / ${c.p99Us.toFixed(1)} µs`, target: '≤ 15 µs (Harombe: ~14 µs)' });
    rows.push({ what: 'classify, the rules alone on the same prompts (the model costs the difference), median', figure: `${c.rulesMedianUs.toFixed(1)} µs`, target: '' });
    rows.push({ what: 'classify accuracy, dev.jsonl / held-out set', figure: `${(c.accuracyDev * 100).toFixed(1)} % / ${(c.accuracyHeldout * 100).toFixed(1)} %`, target: '(Harombe: < 50 % unseen)' });
    const b = c.blind;
    rows.push({ what: `classify, blind split (${b.prompts} prompts, never trained on): exact`, figure: percent(b.exact), target: '≥ 95 %' });
    rows.push({ what: 'classify, blind split, the rules alone (before the model)', figure: percent(b.rulesOnly), target: '' });
    for (const [lang, a] of Object.entries(b.byLanguage).sort()) rows.push({ what: `classify, blind split, ${lang}`, figure: percent(a), target: '≥ 90 %' });
    for (const [tier, a] of Object.entries(b.byTier).sort()) rows.push({ what: `classify, blind split, ${tier}`, figure: percent(a), target: '' });
    rows.push({ what: 'classify, blind split, tier-2 prompts sent lower', figure: percent(b.tier2Lower), target: '≤ 1 %' });
    rows.push({ what: 'classify, blind split, refactor/tests intents on tier 2', figure: percent(b.intentsOnTier2), target: '100 %' });
  }
  if (want('sweep')) {
    const s = await benchHealthSweep(100, 10);
    rows.push({ what: `health sweep, ${s.nodes} nodes of which ${s.hung} hang (probe timeout ${s.timeoutMs} ms)`, figure: `${ms(s.wallMs)} (${s.unavailable} unavailable)`, target: '≤ 1.2 s' });
  }
  if (want('failover')) {
    const f = await benchFailover(100);
    rows.push({ what: `node dies mid-stream → first token from the next node (${f.completed}/${f.trials} answers complete), p50 / p95 / max`, figure: `${ms(f.p50Ms)} / ${ms(f.p95Ms)} / ${ms(f.maxMs)}`, target: 'p95 ≤ 1 s' });
  }
  if (want('status')) {
    const targets: Record<string, string> = { 'all up': '0.3 s (Python: 1.6 s)', 'one refusing': '1.5 s (Python: 5 s)', 'one hung': '1.5 s (Python: 20 s)' };
    for (const r of await benchClusterStatus(5)) rows.push({ what: `\`harombe cluster status\` wall time, 3 nodes, ${r.scenario} (median of ${r.runs})`, figure: ms(r.medianMs), target: targets[r.scenario] ?? '' });
  }

  if (want('discovery')) {
    const d = await benchDiscovery();
    if ('skipped' in d) rows.push({ what: 'mDNS discovery between network namespaces', figure: `skipped: ${d.skipped}`, target: '' });
    else {
      rows.push({ what: `mDNS: worker listening → in the registry (median of ${d.runs})`, figure: ms(d.appearMs), target: '≤ 1.5 s' });
      rows.push({ what: `mDNS: goodbye (SIGTERM) → removed (median of ${d.runs})`, figure: ms(d.goodbyeToRemovedMs), target: '≤ 100 ms' });
      rows.push({ what: `crash (SIGKILL, no goodbye) → unavailable (median of ${d.runs})`, figure: ms(d.crashToUnavailableMs), target: '≤ 3 s' });
    }
  }

  if (want('activation')) {
    const a = benchActivation();
    if (a.skipped) rows.push({ what: 'extension activation in a real VS Code (code-server 1.139)', figure: `skipped: ${a.skipped}`, target: '≤ 150 ms' });
    else {
      if (a.activateFnMs !== undefined) rows.push({ what: 'extension `activate()` in a real VS Code (code-server 1.139)', figure: ms(a.activateFnMs), target: '≤ 150 ms' });
      if (a.activationMs !== undefined) rows.push({ what: 'extension load + `activate()` as the extension host reports it', figure: ms(a.activationMs), target: '≤ 150 ms' });
    }
  }
  if (want('context')) {
    const c = await benchContext();
    process.stderr.write('\nPrompts that fit (windows 4k / 8k / 128k, tier 0 asked, graceful):\n');
    const head = '| kind  | size | exact (cl100k) | estimate | over | node | num_ctx sent | truncated |';
    process.stderr.write(`${head}\n|${head.slice(1).replace(/[^|]/g, '-')}\n`);
    for (const r of c.rows) {
      const over = `${(((r.estimate - r.exact) / r.exact) * 100).toFixed(0)} %`;
      process.stderr.write(`| ${r.kind.padEnd(5)} | ${String(r.size / 1000).padStart(3)}k | ${String(r.exact).padStart(14)} | ${String(r.estimate).padStart(8)} | ${over.padStart(4)} | ${r.node} | ${r.numCtx ?? '-'} | ${r.truncated ? 'yes' : 'no'} |\n`);
    }
    rows.push({ what: `context: estimate under the exact count (${c.rows.length} requests, 1k-200k tokens of code, prose, JSON)`, figure: String(c.undercounts), target: '0' });
    rows.push({ what: 'context: largest overcount on code', figure: `${(c.maxCodeOvercount * 100).toFixed(0)} %`, target: '≤ 35 %' });
    rows.push({ what: 'context: prompts a node cut (truncations)', figure: String(c.truncations), target: '0' });
    rows.push({ what: 'context: estimate cost, a gateway-bench request / 100k tokens of code', figure: `${c.smallRequestUs.toFixed(2)} µs / ${c.per100kTokensMs.toFixed(1)} ms`, target: '≤ 2 % of gateway throughput' });
  }
  if (want('completion')) {
    const [off, on] = await benchCompletion();
    for (const m of [off, on]) {
      if (!m) continue;
      const mode = m.hedging ? 'hedging on' : 'hedging off';
      rows.push({
        what: `completion, ${mode}: keystroke → ghost text p50 / p90 / p99 (${m.shown} shown; served ${Object.entries(m.servedBy).map(([k, v]) => `${k} ${v}`).join(', ')})`,
        figure: `${ms(m.keyToGhost.p50)} / ${ms(m.keyToGhost.p90)} / ${ms(m.keyToGhost.p99)}`,
        target: m.hedging && off ? `p99 −${(((off.keyToGhost.p99 - m.keyToGhost.p99) / off.keyToGhost.p99) * 100).toFixed(0)} % (target ≥ 40 %)` : '',
      });
      rows.push({ what: `completion, ${mode}: extra requests (hedges) of ${m.requests} sent`, figure: `${(m.extraRequests * 100).toFixed(1)} %`, target: '≤ 10 %' });
      rows.push({ what: `completion, ${mode}: coordinator overhead over the node's time, p50`, figure: ms(m.overheadP50Ms), target: '≤ 5 ms' });
      rows.push({ what: `completion, ${mode}: stale suggestions shown`, figure: String(m.staleShown), target: '0' });
      rows.push({ what: `completion, ${mode}: cancelling keystroke → node stops (${m.cancelled} cancelled), p50 / max`, figure: `${ms(m.cancelStopP50Ms)} / ${ms(m.cancelStopMaxMs)}`, target: '≤ 50 ms' });
    }
  }
  if (want('gateway')) {
    for (const r of await benchGateway()) rows.push({ what: `gateway: ${r.what}`, figure: r.figure, target: r.target });
  }

  if (wantNamed('team')) rows.push(...(await benchTeam()));

  const w0 = Math.max(...rows.map((r) => r.what.length), 9);
  const w1 = Math.max(...rows.map((r) => r.figure.length), 6);
  const line = (a: string, b: string, c: string) => `| ${a.padEnd(w0)} | ${b.padEnd(w1)} | ${c} |`;
  const out = [line('Benchmark', 'Figure', 'Target'), `|${'-'.repeat(w0 + 2)}|${'-'.repeat(w1 + 2)}|--------|`, ...rows.map((r) => line(r.what, r.figure, r.target))];
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
