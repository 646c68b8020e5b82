import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** What test/vscode/installHarness.mjs installed, from .vscode-test/harness.json. */
export interface HarnessManifest {
  codeServerVersion: string;
  codeServerEntry: string;
  nodeVersion: string;
  /** Node 24's bin folder: code-server 4.139 needs Node 24, not the machine's Node 20. */
  nodeBin: string;
  chromium: string;
}

/**
 * Written by test/security/captureOutput.ts beside each captured log, as <name>.json, so that the
 * secrets check can tell a finished run from an interrupted one and how old each log is.
 */
export interface CapturedRun {
  name: string;
  command: string[];
  startedAt: string;
  /** Unset while the command runs, and forever when the wrapper itself was killed. */
  finishedAt?: string;
  exitCode?: number | null;
  signal?: string | null;
}

const repoRoot = path.resolve(__dirname, '../..');
const root = path.join(repoRoot, '.vscode-test');

/** The folders of the real-editor test harness, all under the gitignored .vscode-test/. */
export const harness = {
  repoRoot,
  root,
  runs: path.join(root, 'runs'),
  servers: path.join(root, 'servers'),
  screenshots: path.join(root, 'screenshots'),
  /** Written by runIntegration.ts: the run folders of the last integration run, for test/security's check. */
  lastIntegration: path.join(root, 'last-integration.json'),
  /** The console output of `test:unit`, `test:faults` and `test:e2e` (<name>.log, <name>.json), for the same check. */
  capturedOutput: path.join(root, 'runs', 'output'),
  integrationTestsEntry: path.join(repoRoot, 'out', 'test', 'integration', 'index.js'),
  extensionBundle: path.join(repoRoot, 'dist', 'extension.js'),
  /** A second extension the integration run installs, that uses Harombe's models through vscode.lm (installLmClient.ts). */
  lmClientExtension: path.join(repoRoot, 'test', 'lmClient'),

  manifest(): HarnessManifest {
    const file = path.join(root, 'harness.json');
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run vscode:setup\` first`);
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as HarnessManifest;
    for (const needed of [manifest.codeServerEntry, path.join(manifest.nodeBin, 'node'), manifest.chromium]) {
      if (!existsSync(needed)) throw new Error(`${needed} is missing: run \`npm run vscode:setup\` again`);
    }
    return manifest;
  },
};
