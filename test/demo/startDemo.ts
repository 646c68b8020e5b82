/**
 * `npm start`: opens the extension in a real VS Code (code-server's web workbench, see
 * test/vscode/README.md) against the user's cluster, or, when no config names a node, against a
 * clearly labelled DEMO cluster of fake nodes in a demo workspace. With a terminal it runs until
 * Ctrl+C; under CI or without a TTY it checks that the workbench answers, prints the URL and stops,
 * so that a smoke check can run it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harombeHome } from '../../src/cli/harombeHome';
import { loadConfig } from '../../src/core/config/loadConfig';
import { resolveConfigFiles } from '../../src/core/config/resolveConfigFiles';
import type { FakeCluster } from '../fakes/fakeCluster';
import { startCodeServer, type CodeServer } from '../vscode/codeServer';
import { harness } from '../vscode/harness';
import { demoClusterSummary, demoYaml, isInteractive, startDemoCluster, untilInterrupted } from './demoCluster';

interface UserCluster {
  kind: 'user';
  files: string[];
  nodeCount: number;
}

/** The user's config files if together they name at least one node; otherwise undefined. */
function findUserCluster(cwd: string): UserCluster | undefined {
  const env = process.env;
  const home = harombeHome(env);
  const { files } = resolveConfigFiles({ env, cwd, home });
  if (files.length === 0) return undefined;
  // A config that does not load is the user's to fix: fail loudly rather than hide it behind the demo.
  const { config } = loadConfig({ env, cwd, home });
  const nodeCount = config.cluster.nodes.length;
  return nodeCount > 0 ? { kind: 'user', files, nodeCount } : undefined;
}

const demoReadme = `# Harombe DEMO workspace

This folder was written by \`npm start\` because no harombe.yaml with nodes was found
(\`$HAROMBE_CONFIG\`, \`./.harombe/harombe.yaml\` or \`~/.harombe/harombe.yaml\`).

**The nodes are FAKE**: three small servers on 127.0.0.1 that speak the Ollama and worker APIs
but answer canned text. Nothing here runs a model. They stop when \`npm start\` stops.

Things to try:

- the Harombe view in the activity bar: nodes, tiers, health;
- *Harombe: Test Cluster* and *Harombe: Show Cluster Status* from the Command Palette;
- open \`src/orders.ts\`, select \`processOrders\`, and run *Refactor with Tier…*;
- \`.harombe/harombe.yaml\` is the config the extension reads.

Point \`.harombe/harombe.yaml\` (or \`~/.harombe/harombe.yaml\`) at real Ollama nodes for real answers.
`;

const demoSource = `// A function that does too much: select it and run "Refactor with Tier…".
export interface Order {
  id: string;
  items: { price: number; quantity: number }[];
  coupon?: string;
}

export function processOrders(orders: Order[]): string[] {
  const lines: string[] = [];
  for (const order of orders) {
    let total = 0;
    for (const item of order.items) {
      total += item.price * item.quantity;
    }
    if (order.coupon === 'HALF') {
      total = total / 2;
    } else if (order.coupon === 'TENOFF') {
      total = Math.max(0, total - 10);
    }
    lines.push(order.id + ': ' + total.toFixed(2));
  }
  return lines;
}
`;

/** Rewritten on every start: the fakes' ports change each time. */
function writeDemoWorkspace(cluster: FakeCluster): string {
  const folder = join(harness.root, 'demo-workspace');
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(join(folder, '.harombe'), { recursive: true });
  mkdirSync(join(folder, 'src'), { recursive: true });
  writeFileSync(join(folder, '.harombe', 'harombe.yaml'), demoYaml(cluster));
  writeFileSync(join(folder, 'README.md'), demoReadme);
  writeFileSync(join(folder, 'src', 'orders.ts'), demoSource);
  return folder;
}

function workbenchUrl(server: CodeServer, folder: string): string {
  // code-server rejects --extensionDevelopmentPath; with enable-smoke-test-driver the workbench
  // takes it from the payload instead (as test/vscode/workbench.ts does).
  const payload = [['extensionDevelopmentPath', server.remoteUri(harness.repoRoot)]];
  return `${server.url}/?${new URLSearchParams({ folder, payload: JSON.stringify(payload) }).toString()}`;
}

/** /healthz alone is answered before the workbench can be served; fetch the page too. */
async function checkWorkbench(server: CodeServer, url: string): Promise<void> {
  const healthz = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  if (!healthz.ok) throw new Error(`${server.url}/healthz answered ${healthz.status}`);
  const page = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const html = await page.text();
  if (!page.ok || !html.includes('workbench')) throw new Error(`the workbench page answered ${page.status}:\n${html.slice(0, 500)}`);
}

async function main(): Promise<void> {
  const cwd = process.cwd();
  const user = findUserCluster(cwd);
  let cluster: FakeCluster | undefined;
  let folder = cwd;
  try {
    if (user) {
      process.stdout.write(`Using your cluster: ${user.nodeCount} node(s) from ${user.files.join(', ')}\n`);
    } else {
      cluster = await startDemoCluster();
      folder = writeDemoWorkspace(cluster);
    }
    const runDir = join(harness.root, 'start');
    mkdirSync(runDir, { recursive: true });
    const server = await startCodeServer({
      runDir,
      // Only the workspace we wrote ourselves is trusted without asking; the user's folder gets VS Code's usual prompt.
      workspaceTrust: user !== undefined,
      // A home of its own, so a ~/.harombe/harombe.yaml without nodes is not merged into the demo.
      env: user ? {} : { HAROMBE_HOME: join(harness.root, 'demo-home') },
    });
    try {
      const url = workbenchUrl(server, folder);
      await checkWorkbench(server, url);
      if (cluster) {
        process.stdout.write(`\n${'━'.repeat(60)}\nDEMO: fake nodes on 127.0.0.1 answer canned text\n${'━'.repeat(60)}\n`);
        process.stdout.write(`${demoClusterSummary}\nworkspace: ${folder}\n`);
      }
      process.stdout.write(`\nHarombe is running in VS Code: open ${url}\n(code-server log: ${server.logFile})\n`);
      if (isInteractive()) {
        process.stdout.write('Ctrl+C stops it.\n');
        const signal = await untilInterrupted();
        process.stdout.write(`\n${signal}: stopping\n`);
      } else {
        process.stdout.write('Not a terminal (or CI is set): the workbench answered; stopping.\n');
      }
    } finally {
      await server.stop();
    }
  } finally {
    await cluster?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`npm start failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
