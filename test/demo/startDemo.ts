/**
 * `npm start`: a clearly labelled DEMO. No model runs on this machine, so it starts three fake
 * nodes on 127.0.0.1 (they speak the real Ollama and worker APIs but answer canned text), writes a
 * harombe.yaml for them, and walks through the real `harombe` CLI against them: status, test,
 * routed chats, a node dying mid-answer, metrics. With a terminal it then keeps the demo cluster
 * up so you can try commands yourself; Ctrl+C stops it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeCluster } from '../fakes/fakeCluster';

const cli = resolve(__dirname, '../../dist/cli.js');
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const banner = (s: string) => process.stdout.write(`\n${bold(`━━ DEMO ━━ ${s}`)}\n`);

function demoReply(tierName: string) {
  return (messages: { role: string; content?: unknown }[], model: string) => {
    const last = [...messages].reverse().find((m) => m.role === 'user');
    const q = typeof last?.content === 'string' ? last.content.split('\n')[0]?.slice(0, 60) : '';
    return `[demo ${tierName} node, ${model}] This is a canned answer from a fake node, streamed token by token. You asked: "${q}". Point Harombe at real Ollama nodes for real answers.`;
  };
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write(`\n$ harombe ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}\n`);
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => resolvePromise(code ?? 1));
  });
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'harombe-demo-'));
  const cluster = await startFakeCluster(
    [
      { name: 'laptop', tier: 0, flavour: 'harombe', options: { chunkDelayMs: 15, reply: demoReply('tier 0') } },
      { name: 'workstation', tier: 1, flavour: 'ollama', options: { chunkDelayMs: 25, reply: demoReply('tier 1') } },
      { name: 'server', tier: 2, flavour: 'harombe', options: { chunkDelayMs: 40, reply: demoReply('tier 2') } },
    ],
    { timeouts: { stall: 3 } },
  );
  const configFile = join(home, 'harombe.yaml');
  writeFileSync(configFile, `# DEMO cluster of fake nodes on 127.0.0.1, written by npm start\n${cluster.yaml}`);
  const env = { ...process.env, HAROMBE_CONFIG: configFile, HAROMBE_HOME: home };
  const cleanup = async () => {
    await cluster.stop();
    rmSync(home, { recursive: true, force: true });
  };
  try {
    banner('three FAKE nodes on 127.0.0.1 (laptop tier 0, workstation tier 1, server tier 2); config: ' + configFile);
    await run(['cluster', 'status'], env);
    await run(['cluster', 'test'], env);
    banner('a simple question goes to tier 0');
    await run(['chat', 'how do I reverse a list in Python?'], env);
    banner('an explanation goes to tier 1');
    await run(['chat', 'explain how async/await works in JavaScript'], env);
    banner('a refactor goes to tier 2');
    await run(['chat', '--intent', 'refactor', 'split this function into smaller ones'], env);
    banner('the tier 2 node dies mid-answer: the answer is finished elsewhere, not lost');
    await cluster.ollama('server').setFault({ type: 'die_mid_stream', afterChunks: 5 });
    await run(['chat', '--tier', '2', 'design a plugin system with trade-offs'], env);
    await cluster.ollama('server').setFault({ type: 'none' });
    await run(['cluster', 'metrics'], env);
    if (process.stdin.isTTY && !process.env.CI) {
      banner('the demo cluster stays up. In another terminal try:');
      process.stdout.write(`  export HAROMBE_CONFIG=${configFile} HAROMBE_HOME=${home}\n  node ${cli} chat\n  node ${cli} cluster status --json\nCtrl+C stops the demo.\n`);
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
