import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';

/** A labelled first line for every harombe.yaml the demos write, so nobody mistakes it for a real cluster. */
export const demoYamlHeader = '# DEMO cluster of fake nodes on 127.0.0.1, written by npm start. They answer canned text.\n';

export const demoClusterSummary = 'three FAKE nodes on 127.0.0.1 (laptop tier 0, workstation tier 1, server tier 2)';

function demoReply(tierName: string) {
  return (messages: { role: string; content?: unknown }[], model: string) => {
    const last = [...messages].reverse().find((m) => m.role === 'user');
    const q = typeof last?.content === 'string' ? last.content.split('\n')[0]?.slice(0, 60) : '';
    return `[demo ${tierName} node, ${model}] This is a canned answer from a fake node, streamed token by token. You asked: "${q}". Point Harombe at real Ollama nodes for real answers.`;
  };
}

/** Three fake nodes, one per tier, that speak the real Ollama and worker APIs. */
export function startDemoCluster(): Promise<FakeCluster> {
  return startFakeCluster(
    [
      { name: 'laptop', tier: 0, flavour: 'harombe', options: { chunkDelayMs: 15, reply: demoReply('tier 0') } },
      { name: 'workstation', tier: 1, flavour: 'ollama', options: { chunkDelayMs: 25, reply: demoReply('tier 1') } },
      { name: 'server', tier: 2, flavour: 'harombe', options: { chunkDelayMs: 40, reply: demoReply('tier 2') } },
    ],
    { timeouts: { stall: 3 } },
  );
}

/** The demo cluster's harombe.yaml, DEMO header first. */
export function demoYaml(cluster: FakeCluster): string {
  return `${demoYamlHeader}${cluster.yaml}`;
}

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

export function printBanner(s: string): void {
  process.stdout.write(`\n${bold(`━━ DEMO ━━ ${s}`)}\n`);
}

/** A terminal someone can press Ctrl+C in; CI and piped runs must not wait for one. */
export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY) && !process.env.CI;
}

/** Resolves on the first SIGINT or SIGTERM, so cleanup runs instead of Node's default death. */
export function untilInterrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => () => {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      resolve(signal);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}
