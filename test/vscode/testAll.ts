/**
 * `npm test`: the README's test command and CI's (.ci/run). Runs the suites one after the other as
 * their own npm scripts, then prints, per suite, how many tests passed, failed, were pending
 * (skipped) and were retried, and exits non-zero when any suite failed. A suite that fails does
 * not stop the next ones (only the build and the editor install do), so one run shows everything.
 *
 * In a strict run (HAROMBE_TEST_STRICT=1, which .ci/run sets, or CI=true) it also fails when any
 * test was pending, and when a retry was needed twice in a row: the same retry point retried
 * twice in this run (a retry that needed a retry), or retried in this run and in the previous one
 * (the retry log of the previous `npm test` is kept as retries.previous.jsonl).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { harness } from './harness';
import { retryLog, type RetryRecord } from './retryLog';
import { strictTests } from './strictTests';

interface Step {
  script: string;
  /** The tally file the suite writes (captureOutput.ts, runIntegration.ts); none for steps that are not test suites. */
  tally?: string;
  /** The retry log's name for the suite. */
  suite?: string;
  /** Without it nothing after can run. */
  required?: boolean;
}

const steps: Step[] = [
  { script: 'check', required: true },
  { script: 'test:unit', tally: 'unit', suite: 'unit' },
  { script: 'test:faults', tally: 'faults', suite: 'faults' },
  { script: 'vscode:setup', required: true },
  { script: 'test:integration', tally: 'integration', suite: 'integration' },
  { script: 'test:e2e', tally: 'e2e', suite: 'e2e' },
  { script: 'test:secrets' },
];

interface Tally {
  passed: number;
  failed: number;
  pending: number;
  retried: number;
  pendingTests?: string[];
}

function main(): number {
  const started = Date.now();
  const retries = path.join(harness.capturedOutput, 'retries.jsonl');
  const previous = path.join(harness.capturedOutput, 'retries.previous.jsonl');
  if (existsSync(retries)) renameSync(retries, previous);
  else rmSync(previous, { force: true });
  const env = { ...process.env, HAROMBE_TEST_RETRIES: retries };

  const rows: { step: Step; status: number | null; tally?: Tally }[] = [];
  for (const step of steps) {
    const tallyFile = step.tally ? path.join(harness.capturedOutput, `${step.tally}.tally.json`) : undefined;
    if (tallyFile) rmSync(tallyFile, { force: true });
    console.log(`\n> npm run ${step.script}`);
    const run = spawnSync('npm', ['run', step.script], { stdio: 'inherit', env });
    const status = run.status ?? 1;
    const tally = tallyFile && existsSync(tallyFile) ? (JSON.parse(readFileSync(tallyFile, 'utf8')) as Tally) : undefined;
    rows.push({ step, status, tally });
    if (status !== 0 && step.required) break;
  }

  const retried = retryLog.read(retries);
  const problems: string[] = [];
  console.log(`\n=== npm test: ${((Date.now() - started) / 1000).toFixed(0)} s${strictTests.on ? ' (strict: HAROMBE_TEST_STRICT=1 or CI=true)' : ''}`);
  console.log(`${'suite'.padEnd(18)}${'passed'.padStart(8)}${'failed'.padStart(8)}${'pending'.padStart(9)}${'retried'.padStart(9)}  exit`);
  for (const { step, status, tally } of rows) {
    const own = retried.filter((r) => r.suite === step.suite).length;
    const cells = tally ? [tally.passed, tally.failed, tally.pending, tally.retried + own] : step.suite ? ['?', '?', '?', own] : ['', '', '', ''];
    console.log(`${step.script.padEnd(18)}${String(cells[0]).padStart(8)}${String(cells[1]).padStart(8)}${String(cells[2]).padStart(9)}${String(cells[3]).padStart(9)}  ${status}`);
    if (status !== 0) problems.push(`npm run ${step.script} exited with ${status}`);
    if (step.suite && !tally) problems.push(`npm run ${step.script} left no tally: it did not get to the end of its tests`);
    if (strictTests.on && tally && tally.pending > 0) problems.push(`${step.script}: ${tally.pending} pending test(s) in a strict run: ${(tally.pendingTests ?? []).join('; ')}`);
  }
  for (const r of retried) console.log(`retried: [${r.suite}] ${r.what} (attempt ${r.attempt}): ${r.reason}`);
  if (strictTests.on) problems.push(...twiceInARow(retried, retryLog.read(previous)));
  for (const p of problems) console.error(`FAIL: ${p}`);
  return problems.length > 0 ? 1 : 0;
}

function twiceInARow(now: RetryRecord[], before: RetryRecord[]): string[] {
  const found: string[] = [];
  const key = (r: RetryRecord) => `[${r.suite}] ${r.what}`;
  for (const k of new Set(now.map(key))) {
    const here = now.filter((r) => key(r) === k);
    if (here.some((r) => r.attempt >= 3) || here.length >= 2) found.push(`${k} needed a retry twice in this run`);
    else if (before.some((r) => key(r) === k)) found.push(`${k} needed a retry in this run and in the previous one`);
  }
  return found;
}

process.exitCode = main();
