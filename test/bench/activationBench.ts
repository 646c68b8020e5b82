/**
 * Activation time of the extension in the real editor (code-server's extension host), taken from
 * the integration harness's recorded metrics. Needs `npm run vscode:setup` once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ActivationResult {
  /** `activate()` alone, as the extension measures it. */
  activateFnMs?: number;
  /** Loading the bundle plus `activate()`, as the extension host reports it to the test. */
  activationMs?: number;
  skipped?: string;
}

export function benchActivation(): ActivationResult {
  const root = resolve(__dirname, '../..');
  if (!existsSync(resolve(root, '.vscode-test/harness.json'))) return { skipped: 'run `npm run vscode:setup` first' };
  const build = spawnSync(process.execPath, ['--import', 'tsx', 'test/vscode/buildTests.ts'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) return { skipped: `building the tests failed: ${build.stderr.slice(-300)}` };
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'test/vscode/runIntegration.ts'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, HAROMBE_TEST_GREP: 'activat|tree' },
    timeout: 180_000,
  });
  const figure = (name: string) => {
    const m = new RegExp(`\\[integration\\] ${name.replace('.', '\\.')}: ([\\d.]+)`).exec(run.stdout);
    return m ? Number(m[1]) : undefined;
  };
  const result = { activationMs: figure('extension.activationMs'), activateFnMs: figure('extension.activateFnMs') };
  if (result.activationMs === undefined && result.activateFnMs === undefined) return { skipped: `no figure in the run's output (exit ${run.status})` };
  return result;
}
