import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { harness } from './harness';

export interface TestRun {
  /** code-server's user data, extensions and log go here, and the results file. */
  runDir: string;
  /** A fresh copy of test/fixtures/workspace: tests may write to it, the tracked fixture stays as it is. */
  workspace: string;
  resultsFile: string;
}

const keepRuns = 5;

/** A folder of its own for one run of the real-editor tests, under .vscode-test/runs. */
export function prepareRun(kind: 'integration' | 'restricted' | 'e2e'): TestRun {
  pruneOldRuns(kind);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = path.join(harness.runs, `${kind}-${stamp}-${process.pid}`);
  const workspace = path.join(runDir, 'workspace');
  mkdirSync(runDir, { recursive: true });
  cpSync(path.join(harness.repoRoot, 'test', 'fixtures', 'workspace'), workspace, { recursive: true });
  return { runDir, workspace, resultsFile: path.join(runDir, 'results.json') };
}

// A user-data-dir takes tens of MB after one start; keep only the last few runs for post-mortems.
function pruneOldRuns(kind: string): void {
  let names: string[];
  try {
    names = readdirSync(harness.runs).filter((name) => name.startsWith(`${kind}-`)).sort();
  } catch {
    return;
  }
  for (const name of names.slice(0, Math.max(0, names.length - (keepRuns - 1)))) {
    rmSync(path.join(harness.runs, name), { recursive: true, force: true });
  }
}
