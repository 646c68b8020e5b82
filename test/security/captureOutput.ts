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
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { harness, type CapturedRun } from '../vscode/harness';

function main(): void {
  const [name, command, ...args] = process.argv.slice(2);
  if (!name || !/^[a-z][\w-]*$/.test(name) || !command) {
    console.error('usage: node --import tsx test/security/captureOutput.ts <name> <command> [args…]');
    process.exitCode = 2;
    return;
  }
  mkdirSync(harness.capturedOutput, { recursive: true });
  const logFile = path.join(harness.capturedOutput, `${name}.log`);
  const recordFile = path.join(harness.capturedOutput, `${name}.json`);
  const record: CapturedRun = { name, command: [command, ...args], startedAt: new Date().toISOString() };
  // Written first, so that a wrapper killed mid-run leaves a record without finishedAt rather than the last run's.
  writeFileSync(recordFile, JSON.stringify(record, null, 2));
  const log = createWriteStream(logFile);

  // stdin stays the terminal's, so a test that reads it or a TTY check on it behaves as before.
  const child = spawn(command, args, { stdio: ['inherit', 'pipe', 'pipe'] });
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
