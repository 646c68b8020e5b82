import { join } from 'node:path';
/**
 * Runs test/integration inside a real VS Code extension host: code-server's, driven by chromium.
 * It builds nothing: `npm run test:integration` builds the extension and the test bundles first.
 *
 * Environment:
 *   HAROMBE_TEST_GREP        only the tests whose full title matches (mocha's grep)
 *   HAROMBE_TEST_TIMEOUT_MS  overall limit, default 300000
 *   HAROMBE_TEST_VERBOSE=1   also print the workbench's console (always kept in workbench.log)
 * and, set by this runner for the extension host:
 *   HAROMBE_TEST_RESULTS     the JSON results file that test/integration/index.ts writes
 *   HAROMBE_TEST_SUITE       integration (workspace trusted) or restricted (Restricted Mode)
 * It writes .vscode-test/last-integration.json, naming the run folders, for the secrets check.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startCodeServer } from './codeServer';
import type { CodeServer } from './codeServer';
import { harness } from './harness';
import { hostOutput } from './hostOutput';
import { prepareRun } from './prepareRun';
import { installLmClient } from './installLmClient';
import { retryLog } from './retryLog';
import { openWorkbench } from './workbench';
import type { Workbench } from './workbench';

interface Results {
  /** How far run() got: `done` once mocha has finished (test/integration/index.ts). */
  step: string;
  passed: number;
  failed: number;
  pending: number;
  retried: number;
  durationMs: number;
  vscodeVersion: string;
  metrics: { name: string; value: number; unit: string }[];
  tests: { title: string; state: string }[];
}

const timeoutMs = Number(process.env.HAROMBE_TEST_TIMEOUT_MS ?? 300_000);

interface Phase {
  kind: 'integration' | 'restricted';
  /** false: the folder opens trusted (--disable-workspace-trust); true: VS Code decides, and a fresh profile opens it in Restricted Mode. */
  workspaceTrust: boolean;
}

/**
 * Two extension hosts, one after the other: the main one with the workspace trusted, and one whose
 * workspace is not trusted (Restricted Mode) for the tests under test/integration/restricted/.
 * Trust is fixed when the workbench opens, so one host cannot be both.
 */
const phases: Phase[] = [
  { kind: 'integration', workspaceTrust: false },
  { kind: 'restricted', workspaceTrust: true },
];

async function main(): Promise<number> {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  for (const built of [harness.extensionBundle, harness.integrationTestsEntry]) {
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run test:integration\`, which builds it`);
  }
  const total = { passed: 0, failed: 0, pending: 0, retried: 0 };
  const runDirs: string[] = [];
  let code = 0;
  for (const phase of phases) {
    let outcome = await runPhase(phase, elapsed);
    if (outcome.hostLeftEarly) {
      // A clean exit before run() wrote anything was seen in the Restricted Mode phase; one more
      // start tells that apart from tests that never run. The retry is recorded (the summary at
      // the end of npm test counts it, and a strict run fails when it is needed twice in a row),
      // and the first start's evidence is kept (see keepEvidence).
      const reason = `the extension host exited with 0 before the tests wrote any result (logs: ${outcome.runDir})`;
      console.error(`[${phase.kind}] ${reason}; starting the phase once more`);
      retryLog.record('integration', `${phase.kind} phase: the extension host exited before run() reported`, 2, reason);
      runDirs.push(outcome.runDir);
      outcome = await runPhase(phase, elapsed);
    }
    runDirs.push(outcome.runDir);
    // Read by the secrets check (test/security), which greps these runs' logs for the test tokens.
    writeFileSync(harness.lastIntegration, JSON.stringify({ finishedAt: new Date().toISOString(), runDirs }, null, 2));
    if (outcome.results) {
      total.passed += outcome.results.passed;
      total.failed += outcome.results.failed;
      total.pending += outcome.results.pending;
      total.retried += outcome.results.retried ?? 0;
    }
    if (outcome.code !== 0) code = outcome.code;
  }
  // For the summary at the end of npm test (test/vscode/testAll.ts), as the mocha suites' tally reporter writes it.
  mkdirSync(harness.capturedOutput, { recursive: true });
  writeFileSync(path.join(harness.capturedOutput, 'integration.tally.json'), JSON.stringify({ ...total, pendingTests: [] }, null, 2));
  // The closing line in the form CI's log reader counts.
  console.log(`integration: ${total.passed} passed, ${total.failed} failed${total.pending ? `, ${total.pending} skipped` : ''}`);
  if (total.passed + total.failed === 0) {
    console.error('[integration] no test ran');
    return 1;
  }
  return code;
}

async function runPhase(phase: Phase, elapsed: () => string): Promise<{ code: number; runDir: string; results?: Results; hostLeftEarly?: boolean }> {
  const tag = `[${phase.kind}]`;
  const run = prepareRun(phase.kind);
  console.log(`${tag} run folder ${run.runDir}`);
  const workbenchLog = path.join(run.runDir, 'workbench.log');
  const verbose = process.env.HAROMBE_TEST_VERBOSE === '1';
  const onLog = (line: string) => {
    const hostLine = hostOutput.unmark(line);
    if (hostLine !== undefined) console.log(hostLine);
    else if (verbose) console.log(`[workbench] ${line}`);
    appendFileSync(workbenchLog, `${hostLine ?? line}\n`);
  };

  // Filled in as they start, for the deadline's report and the clean-up.
  const live: { server?: CodeServer; workbench?: Workbench } = {};
  const runTests = async (): Promise<number> => {
    // A private ~/.harombe, so a developer's own harombe.yaml or trusted nodes never leak into the tests.
    const env: Record<string, string> = { HAROMBE_TEST_RESULTS: run.resultsFile, HAROMBE_HOME: join(run.runDir, 'harombe-home'), HAROMBE_TEST_SUITE: phase.kind };
    if (process.env.HAROMBE_TEST_GREP) env.HAROMBE_TEST_GREP = process.env.HAROMBE_TEST_GREP;
    if (phase.kind === 'integration') installLmClient(run.runDir);
    const server = (live.server = await startCodeServer({ runDir: run.runDir, env, workspaceTrust: phase.workspaceTrust }));
    console.log(`${tag} code-server ${server.url} ready after ${elapsed()}`);
    const workbench = (live.workbench = await openWorkbench(server, { folder: run.workspace, extensionTestsPath: harness.integrationTestsEntry, onLog }));
    return workbench.testsExited;
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const outcome = await Promise.race([runTests(), deadline]);
    if (outcome === 'timeout') {
      const screenshot = path.join(run.runDir, 'timeout.png');
      await live.workbench?.page.screenshot({ path: screenshot }).catch(() => undefined);
      console.error(`${tag} TIMEOUT: no test result within ${timeoutMs / 1000} s (HAROMBE_TEST_TIMEOUT_MS).`);
      keepEvidence(tag, run.runDir, [screenshot, workbenchLog, path.join(run.runDir, 'code-server.log')]);
      return { code: 1, runDir: run.runDir };
    }
    const results = readResults(run.resultsFile);
    if (!results || (results.step !== 'done' && results.tests.length === 0)) {
      const screenshot = path.join(run.runDir, 'no-results.png');
      await live.workbench?.page.screenshot({ path: screenshot }).catch(() => undefined);
      const reached = results ? `run() started but stopped while ${results.step}` : 'run() never started (no results file)';
      console.error(`${tag} the extension host exited with ${outcome} before the tests reported: ${reached}.`);
      keepEvidence(tag, run.runDir, [screenshot, workbenchLog, live.server?.logFile]);
      return { code: outcome === 0 ? 1 : outcome, runDir: run.runDir, hostLeftEarly: outcome === 0 };
    }
    for (const metric of results.metrics) console.log(`${tag} ${metric.name}: ${metric.value.toFixed(1)} ${metric.unit}`);
    console.log(`${tag} VS Code ${results.vscodeVersion}, tests ${results.durationMs} ms, whole run ${elapsed()}, results ${run.resultsFile}`);
    console.log(`${tag} ${results.passed} passed, ${results.failed} failed${results.pending ? `, ${results.pending} skipped` : ''}`);
    return { code: results.failed > 0 ? 1 : outcome, runDir: run.runDir, results };
  } finally {
    clearTimeout(timer);
    // After a timeout either may still be starting; the server's exit hook kills its group then.
    await live.workbench?.close();
    await live.server?.stop();
  }
}

/**
 * A failed phase's screenshot and logs, where a failed CI run shows them: their last lines in the
 * console (CI keeps the console), and the files copied to .vscode-test/failed/, which later runs
 * do not prune (runs/ keeps only the last 5 of each kind).
 */
function keepEvidence(tag: string, runDir: string, files: (string | undefined)[]): void {
  const kept = path.join(harness.root, 'failed', path.basename(runDir));
  mkdirSync(kept, { recursive: true });
  for (const file of files) {
    if (!file || !existsSync(file)) continue;
    cpSync(file, path.join(kept, path.basename(file)));
    if (file.endsWith('.log')) {
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      console.error(`${tag} the last ${Math.min(40, lines.length)} lines of ${file}:\n${lines.slice(-40).join('\n')}`);
    }
  }
  console.error(`${tag} evidence kept in ${kept}`);
}

function readResults(file: string): Results | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : undefined;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[integration] FAILED: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
