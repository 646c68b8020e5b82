import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespacePair, repoRoot, type Line } from '../unit/discovery/netns';

export interface DiscoveryBenchResult {
  /** Medians over `runs`: worker listening → in the coordinator's registry (target 1.5 s). */
  appearMs: number;
  /** SIGTERM to the worker → the registry's removal event (target 100 ms). */
  goodbyeToRemovedMs: number;
  /** SIGKILL → `unavailable` from health probes, killed at a random point of the 2 s probe interval (target 3 s). */
  crashToUnavailableMs: number;
  runs: number;
  max: { appearMs: number; goodbyeToRemovedMs: number; crashToUnavailableMs: number };
}

/**
 * Discovery timings with real multicast between two network namespaces: `harombe start` in one, a
 * Coordinator (`discovery.method: mdns`) in the other. Needs root for the namespaces.
 */
export async function benchDiscovery(runs = 3): Promise<DiscoveryBenchResult | { skipped: string }> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (network namespaces)' };
  const net = createNamespacePair('hrbdb', '232.9');
  const dirs: string[] = [];
  const tmp = (p: string) => {
    const d = mkdtempSync(join(tmpdir(), p));
    dirs.push(d);
    return d;
  };
  try {
    const ollama = net.run(net.a, join(repoRoot, 'test/unit/discovery/fakeOllamaEntry.ts'), ['qwen2.5:72b']);
    const coord = net.run(net.b, join(repoRoot, 'test/unit/discovery/coordinatorEntry.ts'), [], { HAROMBE_HOME: tmp('harombe-bench-coord-') });
    const ollamaPort = (await ollama.line('the fake Ollama', (l) => l.event === 'ready', 15_000)).port as number;
    await coord.line('the coordinator', (l) => l.event === 'ready', 15_000);
    const appear: number[] = [];
    const goodbye: number[] = [];
    const crash: number[] = [];
    for (let i = 0; i < runs; i++) {
      const name = `bench-${i}`;
      const home = tmp('harombe-bench-w-');
      writeFileSync(join(home, 'node_id'), `bench-node-${i}\n`);
      const isNode = (l: Line) => l.event === 'node' && l.name === name;
      const start = () =>
        net.run(
          net.a,
          join(repoRoot, 'src/cli/main.ts'),
          ['start', '--host', net.addrA, '--port', String(8100 + i), '--tier', '2', '--model', 'qwen2.5:72b', '--ollama', `http://127.0.0.1:${ollamaPort}`, '--name', name],
          { HAROMBE_HOME: home, HAROMBE_CONFIG: '', HAROMBE_AUTH_TOKEN: '' },
          home,
        );

      let from = coord.lines.length;
      const w = start();
      const listening = await w.waitFor('the worker to listen', () => (w.stderr.some((l) => l.includes('worker listening on')) ? Date.now() : undefined), 15_000);
      appear.push((await coord.line(`${name} to appear`, isNode, 10_000, from)).t - listening);
      coord.send({ cmd: 'trust', name });
      await coord.line(`${name} probed`, (l) => isNode(l) && l.state === 'available' && l.latencyMs !== null, 5_000, from);

      from = coord.lines.length;
      const termAt = Date.now();
      w.child.kill('SIGTERM');
      goodbye.push((await coord.line(`${name} removed`, (l) => l.event === 'removed' && (l.names as string[]).includes(name), 5_000, from)).t - termAt);
      await w.exited;

      from = coord.lines.length;
      const again = start();
      await coord.line(`${name} back and probed`, (l) => isNode(l) && l.state === 'available' && l.latencyMs !== null, 15_000, from);
      await new Promise((r) => setTimeout(r, Math.random() * 2000));
      from = coord.lines.length;
      const killAt = Date.now();
      again.child.kill('SIGKILL');
      crash.push((await coord.line(`${name} unavailable`, (l) => isNode(l) && l.state === 'unavailable', 10_000, from)).t - killAt);
    }
    return {
      appearMs: median(appear),
      goodbyeToRemovedMs: median(goodbye),
      crashToUnavailableMs: median(crash),
      runs,
      max: { appearMs: Math.max(...appear), goodbyeToRemovedMs: Math.max(...goodbye), crashToUnavailableMs: Math.max(...crash) },
    };
  } finally {
    await net.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}
