/**
 * Benchmarks of the coordinator core, against fake nodes on 127.0.0.1: a health sweep over many
 * nodes with some hung, the time from a node dying mid-answer to the next node's first token, and
 * the wall time of `harombe cluster status`. Figures, not asserts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Coordinator } from '../../src/core/coordinator';
import { percentile } from '../../src/core/metrics/clusterMetrics';
import { startFakeCluster } from '../fakes/fakeCluster';

export interface SweepResult {
  nodes: number;
  hung: number;
  timeoutMs: number;
  wallMs: number;
  unavailable: number;
}

/** One sweep over `nodes` fake nodes of which `hung` never answer, with the default 1 s probe timeout. */
export async function benchHealthSweep(nodes = 100, hung = 10): Promise<SweepResult> {
  const specs = Array.from({ length: nodes }, (_, i) => ({ name: `n${i}`, tier: (i % 3) as 0 | 1 | 2, flavour: 'harombe' as const }));
  const cluster = await startFakeCluster(specs);
  try {
    for (let i = 0; i < hung; i++) await cluster.node(`n${i * Math.floor(nodes / hung)}`).setHealthFault({ type: 'hang' });
    const coordinator = new Coordinator({ config: cluster.config });
    try {
      const t0 = performance.now();
      const results = await coordinator.prober.sweep();
      const wallMs = performance.now() - t0;
      return { nodes, hung, timeoutMs: cluster.config.cluster.health.timeout * 1000, wallMs, unavailable: results.filter((r) => r.state === 'unavailable').length };
    } finally {
      coordinator.dispose();
    }
  } finally {
    await cluster.stop();
  }
}

export interface FailoverResult {
  trials: number;
  completed: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/**
 * Time from the last token of a node that dies mid-stream to the first token from the node that
 * takes over, over many trials. Tokens stream every 5 ms, as from a fast model.
 */
export async function benchFailover(trials = 100): Promise<FailoverResult> {
  const cluster = await startFakeCluster(
    [
      { name: 'dying', tier: 2, options: { chunkDelayMs: 5 } },
      { name: 'standby', tier: 2, options: { chunkDelayMs: 5 } },
    ],
    { routing: { load_balance: false }, circuit_breaker: { failure_threshold: 1_000_000 } },
  );
  const coordinator = new Coordinator({ config: cluster.config });
  const gaps: number[] = [];
  let completed = 0;
  try {
    await coordinator.prober.sweep();
    for (let i = 0; i < trials; i++) {
      await cluster.node('dying').setFault({ type: 'die_mid_stream', afterChunks: 3 + (i % 5) });
      let lastBefore: number | undefined;
      let fellBack = false;
      let firstAfter: number | undefined;
      for await (const e of coordinator.complete({ messages: [{ role: 'user', content: 'write tests for the parser' }], tier: 2, stickyNode: 'dying' })) {
        const now = performance.now();
        if (e.type === 'delta') {
          if (!fellBack) lastBefore = now;
          else firstAfter ??= now;
        } else if (e.type === 'fallback') fellBack = true;
        else if (e.type === 'done') completed++;
      }
      if (lastBefore !== undefined && firstAfter !== undefined) gaps.push(firstAfter - lastBefore);
    }
  } finally {
    coordinator.dispose();
    await cluster.stop();
  }
  return { trials, completed, p50Ms: percentile(gaps, 0.5) ?? NaN, p95Ms: percentile(gaps, 0.95) ?? NaN, maxMs: Math.max(...gaps) };
}

export interface StatusWallResult {
  scenario: string;
  medianMs: number;
  runs: number;
}

/** Wall time of the real `harombe cluster status` process (dist/cli.js) against 3 nodes. */
export async function benchClusterStatus(runs = 5): Promise<StatusWallResult[]> {
  const cli = resolve(__dirname, '../../dist/cli.js');
  const out: StatusWallResult[] = [];
  for (const scenario of ['all up', 'one refusing', 'one hung'] as const) {
    const cluster = await startFakeCluster([
      { name: 'laptop', tier: 0, flavour: 'harombe' },
      { name: 'workstation', tier: 1, flavour: 'harombe' },
      { name: 'server', tier: 2, flavour: 'harombe' },
    ]);
    const home = mkdtempSync(join(tmpdir(), 'harombe-bench-'));
    try {
      if (scenario === 'one refusing') await cluster.node('server').setFault({ type: 'refuse' });
      if (scenario === 'one hung') await cluster.node('server').setHealthFault({ type: 'hang' });
      const file = join(home, 'harombe.yaml');
      writeFileSync(file, cluster.yaml);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await new Promise<void>((res, rej) => {
          const child = spawn(process.execPath, [cli, '--config', file, 'cluster', 'status'], { env: { ...process.env, HAROMBE_HOME: home }, stdio: 'ignore' });
          child.on('error', rej);
          child.on('close', () => res());
        });
        times.push(performance.now() - t0);
      }
      out.push({ scenario, medianMs: percentile(times, 0.5) ?? NaN, runs });
    } finally {
      await cluster.stop();
      rmSync(home, { recursive: true, force: true });
    }
  }
  return out;
}
