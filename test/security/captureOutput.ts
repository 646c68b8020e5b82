/**
 * `node --import tsx test/security/captureOutput.ts <name> <command> [args…]`: runs a test command
 * (`mocha …`, found on the PATH that `npm run` sets) as if it were run directly — its stdout and
 * stderr pass through to the console as they come, and its exit code or signal becomes ours — and
 * also writes both to `.vscode-test/runs/output/<name>.log`, replaced on each run. The secrets
 * check (secretsRun.ts) greps those logs for the test tokens: a token in a test's console output
 * or failure message is a leak like one in a log file. Beside the log, `<name>.json` (a
 * CapturedRun) says when the run started and whether and how it ended.
 *
 * Dependency-free on purpose: a wrapper around every test script must not be the thing that breaks.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { harness, type CapturedRun } from '../vscode/harness';
import { strictTests } from '../vscode/strictTests';

/**
 * For mocha, what every suite's run gets whatever its own config says: the tally reporter (the
 * spec reporter plus `<name>.tally.json` for the summary at the end of `npm test`) and, in a strict
 * run (CI), `--forbid-only` and `--forbid-pending`, so that a `.only` or a skipped test fails it.
 */
function mochaArgs(command: string, args: string[]): string[] {
  if (command !== 'mocha') return args;
  const added = ['--reporter', path.join(__dirname, '../vscode/tallyReporter.ts')];
  if (strictTests.on) added.push('--forbid-only', '--forbid-pending');
  return [...args, ...added];
}

function main(): void {
  const [name, command, ...given] = process.argv.slice(2);
  if (!name || !/^[a-z][\w-]*$/.test(name) || !command) {
    console.error('usage: node --import tsx test/security/captureOutput.ts <name> <command> [args…]');
    process.exitCode = 2;
    return;
  }
  const args = mochaArgs(command, given);
  mkdirSync(harness.capturedOutput, { recursive: true });
  const tallyFile = path.join(harness.capturedOutput, `${name}.tally.json`);
  // A tally left by an earlier run must not stand in for this one's.
  rmSync(tallyFile, { force: true });
  const logFile = path.join(harness.capturedOutput, `${name}.log`);
  const recordFile = path.join(harness.capturedOutput, `${name}.json`);
  const record: CapturedRun = { name, command: [command, ...args], startedAt: new Date().toISOString() };
  // Written first, so that a wrapper killed mid-run leaves a record without finishedAt rather than the last run's.
  writeFileSync(recordFile, JSON.stringify(record, null, 2));
  const log = createWriteStream(logFile);

  // stdin stays the terminal's, so a test that reads it or a TTY check on it behaves as before.
  const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'pipe'], env: { ...process.env, HAROMBE_TEST_TALLY: tallyFile } });
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    log.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    log.write(chunk);
  });

  // Ctrl-C reaches the child through the process group anyway; this covers a signal sent to us alone (kill <pid>).
  const forward = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, forward);

  child.once('error', (error) => {
    const line = `captureOutput: cannot run ${command}: ${error.message}\n`;
    process.stderr.write(line);
    log.write(line);
  });
  // 'close' comes after both pipes are drained, so the log is complete.
  child.once('close', (code, signal) => {
    log.end(() => {
      writeFileSync(recordFile, JSON.stringify({ ...record, finishedAt: new Date().toISOString(), exitCode: code, signal }, null, 2));
      for (const s of signals) process.off(s, forward);
      if (signal) {
        // Die of the same signal, as the shell would report the command itself.
        process.kill(process.pid, signal);
        return;
      }
      // A negative code is a spawn error (-2: not found): 127, as the shell says for a missing command.
      process.exitCode = code === null ? 1 : code < 0 ? 127 : code;
    });
  });
}

main();
