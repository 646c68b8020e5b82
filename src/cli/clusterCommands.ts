import type { Command } from 'commander';
import pc from 'picocolors';
import { capabilitiesLabel } from '../core/nodes/capabilities';
import { describeLoad } from '../core/nodes/describeLoad';
import { describeWindow, windowJson } from '../core/nodes/describeWindow';
import type { NodeInfo } from '../core/nodes/nodeInfo';
import { CliExit, globalOptions, openCoordinator } from './cliContext';
import { colorState, describeBreaker, formatMs, hostPort, renderTable } from './format';

/** `harombe cluster status|test|metrics`, with the words and shapes of Harombe's cluster guide. */
export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('Inspect and test the cluster of nodes');

  cluster
    .command('status')
    .description('Probe every node once, in parallel, and show a table (Name, Host, Tier, Model, Can, Context, Status, Latency, Load, Breaker)')
    .option('--json', 'print {"nodes":[…]} instead of a table')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = openCoordinator(globalOptions(cmd), { browse: 'config' });
      try {
        // Workers answer a browse within about a second; a status without them would look like they are gone.
        if (ctx.coordinator.discovery) await new Promise((r) => setTimeout(r, 1500));
        await ctx.coordinator.prober.sweep();
        const nodes = ctx.coordinator.nodes();
        if (opts.json) {
          process.stdout.write(JSON.stringify({ nodes: nodes.map(nodeJson) }, null, 2) + '\n');
          return;
        }
        if (nodes.length === 0) {
          process.stdout.write(noNodesMessage(ctx.files));
          return;
        }
        const rows = nodes.map((n) => [
          n.name,
          hostPort(n),
          String(n.tier),
          n.model,
          capabilitiesLabel(n),
          describeWindow(n.contextWindow),
          (n.tokenRefused && n.state !== 'untrusted' ? pc.red('token refused') : colorState(n.state)) + (n.state !== 'available' && n.stateReason ? pc.dim(` (${n.stateReason})`) : ''),
          n.state === 'available' || n.state === 'degraded' ? formatMs(n.latencyMs) : '-',
          describeLoad(n, { source: false }) + pc.dim(n.load.source === 'reported' ? ' reported' : n.kind === 'ollama' ? ' local count (Ollama reports no queue)' : ' local count'),
          describeBreaker(n),
        ]);
        process.stdout.write(renderTable(['Name', 'Host', 'Tier', 'Model', 'Can', 'Context', 'Status', 'Latency', 'Load', 'Breaker'], rows) + '\n');
        const up = nodes.filter((n) => n.state === 'available').length;
        process.stdout.write(`\n${pc.bold('Summary:')} ${up}/${nodes.length} nodes available\n`);
      } finally {
        ctx.close();
      }
    });

  cluster
    .command('test')
    .description('Send a short real prompt to every node in parallel; exit 0 only if every node answered')
    .option('--json', 'print the results as JSON')
    .option('--timeout <seconds>', 'how long one node may take to answer', '30')
    .action(async (opts: { json?: boolean; timeout: string }, cmd: Command) => {
      const timeoutS = Number(opts.timeout);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new CliExit(2, `--timeout: expected a number of seconds > 0, got "${opts.timeout}"`);
      const ctx = openCoordinator(globalOptions(cmd));
      try {
        const started = performance.now();
        const nodes = ctx.coordinator.nodes();
        if (nodes.length === 0) {
          process.stdout.write(noNodesMessage(ctx.files));
          throw new CliExit(1);
        }
        const byName = new Map(nodes.map((n) => [n.name, n]));
        if (!opts.json) process.stdout.write(`Testing ${nodes.length} node${nodes.length === 1 ? '' : 's'}…\n`);
        const results = await ctx.coordinator.testNodes({ timeoutMs: timeoutS * 1000 });
        const wall = performance.now() - started;
        const passed = results.filter((r) => r.ok).length;
        if (opts.json) {
          process.stdout.write(
            JSON.stringify({ ok: passed === results.length, passed, total: results.length, wall_ms: Math.round(wall), nodes: results.map((r) => ({ name: r.node, ok: r.ok, latency_ms: Math.round(r.latencyMs), detail: r.detail })) }, null, 2) + '\n',
          );
        } else {
          for (const r of results) {
            const n = byName.get(r.node) as NodeInfo;
            const where = pc.dim(`${hostPort(n)}, tier ${n.tier}, ${n.model}`);
            process.stdout.write(
              r.ok ? `✅ ${r.node} ${where} ${formatMs(r.latencyMs)} ${pc.dim(`"${r.detail}"`)}\n` : `❌ ${r.node} ${where} ${formatMs(r.latencyMs)} ${pc.red(r.detail)}\n`,
            );
          }
          process.stdout.write(`${passed}/${results.length} nodes OK in ${formatMs(wall)}\n`);
        }
        if (passed !== results.length) throw new CliExit(1);
      } finally {
        ctx.close();
      }
    });

  cluster
    .command('metrics')
    .description('Show per-node requests, errors, latency, tokens/s and routing by tier (kept across runs)')
    .option('--json', 'print JSON')
    .option('--prometheus', 'print Prometheus text format')
    .option('--node <name>', 'only this node')
    .action((opts: { json?: boolean; prometheus?: boolean; node?: string }, cmd: Command) => {
      const ctx = openCoordinator(globalOptions(cmd));
      try {
        const m = ctx.coordinator.metrics;
        if (opts.prometheus) {
          process.stdout.write(m.toPrometheus());
          return;
        }
        const snap = m.snapshot();
        if (opts.node) {
          const one = snap.nodes[opts.node];
          if (!one) throw new CliExit(1, `No metrics for node "${opts.node}" yet (nodes with metrics: ${Object.keys(snap.nodes).join(', ') || 'none'}).`);
          snap.nodes = { [opts.node]: one };
        }
        if (opts.json) {
          process.stdout.write(JSON.stringify(snap, null, 2) + '\n');
          return;
        }
        const names = Object.keys(snap.nodes);
        const c = snap.completions;
        if (names.length === 0 && c.requested === 0) {
          process.stdout.write('No metrics yet: they appear after the cluster has answered requests (harombe chat, harombe cluster test does not count).\n');
          return;
        }
        const rows = names.map((name) => {
          const n = snap.nodes[name]!;
          const ok = n.requests - n.errors;
          return [
            name,
            String(n.requests),
            n.requests ? `${((ok / n.requests) * 100).toFixed(1)}%` : '-',
            `${formatMs(n.ttftP50Ms)} / ${formatMs(n.ttftP95Ms)}`,
            `${formatMs(n.latencyP50Ms)} / ${formatMs(n.latencyP95Ms)}`,
            n.reasonedRequests ? `${formatMs(n.thinkingP50Ms)} / ${formatMs(n.thinkingP95Ms)}` : '-',
            n.tokensPerSecond === undefined ? '-' : n.tokensPerSecond.toFixed(1),
            n.lastRequest ? new Date(n.lastRequest).toLocaleString() : 'never',
          ];
        });
        process.stdout.write(renderTable(['Node', 'Requests', 'Success', 'TTFT p50/p95', 'Latency p50/p95', 'Reasoning p50/p95', 'Tokens/s', 'Last request'], rows) + '\n');
        const t = snap.routedByTier;
        process.stdout.write(
          `\nRouted: ${snap.requests} requests (tier 0: ${t['0']}, tier 1: ${t['1']}, tier 2: ${t['2']}); fallbacks: ${snap.fallbacks}; failed: ${snap.failedRequests}; since ${new Date(snap.since).toLocaleString()}\n`,
        );
        if (c.requested > 0) {
          process.stdout.write(
            `\nCompletions: ${c.requested} requested, ${c.shown} shown, ${c.accepted} accepted, ${c.cancelled} cancelled, ${c.hedged} hedged\n`,
          );
          const served = Object.entries(c.nodes).map(([name, n]) => [name, String(n.shown), `${formatMs(n.keystrokeToGhostP50Ms)} / ${formatMs(n.keystrokeToGhostP90Ms)}`]);
          if (served.length > 0) process.stdout.write(renderTable(['Served by', 'Shown', 'Keystroke to ghost p50/p90'], served) + '\n');
        }
      } finally {
        ctx.close();
      }
    });
}

export function nodeJson(n: NodeInfo) {
  return {
    name: n.name,
    host: n.host,
    port: n.port,
    kind: n.kind,
    tier: n.tier,
    model: n.model,
    state: n.state,
    state_reason: n.stateReason ?? null,
    token_refused: n.tokenRefused === true,
    key: n.keyFingerprint ?? null,
    latency_ms: n.latencyMs === undefined ? null : Math.round(n.latencyMs * 10) / 10,
    in_flight: n.inFlight,
    max_parallel: n.maxParallel,
    load: { running: n.load.running, queued: n.load.queued, max_parallel: n.load.maxParallel, source: n.load.source, at: new Date(n.load.at).toISOString() },
    breaker: { state: n.breaker.state, retry_at: n.breaker.retryAt === undefined ? null : new Date(n.breaker.retryAt).toISOString() },
    source: n.source,
    models: n.models,
    version: n.version ?? null,
    capabilities: { has: n.capabilities.has, lacks: n.capabilities.lacks, source: n.capabilities.source },
    context_window: windowJson(n.contextWindow),
  };
}

function noNodesMessage(files: string[]): string {
  const where = files.length ? `Config read from: ${files.join(', ')}.` : 'No harombe.yaml found (looked for --config, $HAROMBE_CONFIG, .harombe/harombe.yaml and ~/.harombe/harombe.yaml).';
  return `No cluster nodes configured. ${where}\nAdd nodes under cluster.nodes; see the README's configuration reference.\n`;
}
