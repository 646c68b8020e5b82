/**
 * `npm run demo:cli`: a clearly labelled DEMO of the `harombe` CLI. No model runs on this machine,
 * so it starts three fake nodes on 127.0.0.1 (they speak the real Ollama and worker APIs but answer
 * canned text), writes a harombe.yaml for them, and walks through the real CLI against them:
 * status, test, routed chats, a node dying mid-answer, metrics. With a terminal it then keeps the
 * demo cluster up so you can try commands yourself; Ctrl+C stops it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { demoClusterSummary, demoYaml, isInteractive, printBanner, startDemoCluster, untilInterrupted } from './demoCluster';

const cli = resolve(__dirname, '../../dist/cli.js');

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write(`\n$ harombe ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}\n`);
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => resolvePromise(code ?? 1));
  });
}

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'harombe-demo-'));
  const cluster = await startDemoCluster();
  const configFile = join(home, 'harombe.yaml');
  writeFileSync(configFile, demoYaml(cluster));
  const env = { ...process.env, HAROMBE_CONFIG: configFile, HAROMBE_HOME: home };
  try {
    printBanner(`${demoClusterSummary}; config: ${configFile}`);
    await run(['cluster', 'status'], env);
    await run(['cluster', 'test'], env);
    printBanner('a simple question goes to tier 0');
    await run(['chat', 'how do I reverse a list in Python?'], env);
    printBanner('an explanation goes to tier 1');
    await run(['chat', 'explain how async/await works in JavaScript'], env);
    printBanner('a refactor goes to tier 2');
    await run(['chat', '--intent', 'refactor', 'split this function into smaller ones'], env);
    printBanner('the tier 2 node dies mid-answer: the answer is finished elsewhere, not lost');
    await cluster.ollama('server').setFault({ type: 'die_mid_stream', afterChunks: 5 });
    await run(['chat', '--tier', '2', 'design a plugin system with trade-offs'], env);
    await cluster.ollama('server').setFault({ type: 'none' });
    await run(['cluster', 'metrics'], env);
    if (isInteractive()) {
      printBanner('the demo cluster stays up. In another terminal try:');
      process.stdout.write(`  export HAROMBE_CONFIG=${configFile} HAROMBE_HOME=${home}\n  node ${cli} chat\n  node ${cli} cluster status --json\nCtrl+C stops the demo.\n`);
      await untilInterrupted();
    }
  } finally {
    await cluster.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
