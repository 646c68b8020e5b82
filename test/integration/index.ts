/**
 * The extension-host side of the integration tests: VS Code loads this module (its bundle,
 * out/test/integration/index.js) as `extensionTestsPath` and calls `run()`, as @vscode/test-electron
 * does. A rejected promise makes the workbench report exit code 1.
 *
 * The extension host's stdout does not reach the runner; console output comes back through the
 * smoke-test driver's codeAutomationLog (marked, see hostOutput), and the structured results
 * through the file named by HAROMBE_TEST_RESULTS (the most robust channel: the environment reaches
 * the extension host).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { hostOutput } from '../vscode/hostOutput';
import { strictTests } from '../vscode/strictTests';
import { testMetrics } from './testMetrics';

interface TestResult {
  title: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  error?: string;
}

export async function run(): Promise<void> {
  const started = performance.now();
  // A file is written at the start, so that the runner can tell "run() never started" from "run()
  // started and the host went away before the end" (then the file says which step it reached).
  writeResults({ step: 'started', passed: 0, failed: 0, pending: 0, retried: 0, durationMs: 0, vscodeVersion: vscode.version, tests: [], metrics: [] });
  const results: TestResult[] = [];
  let retried = 0;
  const restoreConsole = markConsole();
  let failures: number;
  let step = 'preparing the extension host';
  try {
    // Everything that can throw is in here: a throw outside would reject run() before any result
    // is written, and the runner could only say that the host exited with 1.
    // The log is set to trace first, as before the run waited for activation: the Output view's
    // active channel must be Harombe's when the level command runs.
    step = 'setting the Harombe log to trace';
    await traceHarombeLog();
    step = 'preparing the extension host';
    await harombeReady();
    step = 'running the tests';
    const mocha = new Mocha({
      ui: 'bdd',
      reporter: 'spec',
      color: false,
      timeout: 20_000,
      // As the mocha command line gets from captureOutput.ts: in a strict run (CI) a .only or a skip fails.
      forbidOnly: strictTests.on,
      forbidPending: strictTests.on,
      ...(process.env.HAROMBE_TEST_GREP ? { grep: process.env.HAROMBE_TEST_GREP } : {}),
    });
    for (const file of testFiles(__dirname, process.env.HAROMBE_TEST_SUITE === 'restricted')) mocha.addFile(file);
    failures = await new Promise<number>((resolve) => {
      const runner = mocha.run(resolve);
      runner.on('pass', (test) => results.push({ title: test.fullTitle(), state: 'passed', durationMs: test.duration }));
      runner.on('pending', (test) => results.push({ title: test.fullTitle(), state: 'pending' }));
      // Tests that mocha ran again (`this.retries(n)`); retries a test makes itself go to the retry log.
      runner.on('retry', () => retried++);
      // Hook failures arrive here too, with the hook as the "test".
      runner.on('fail', (test, error: Error) => results.push({ title: test.fullTitle(), state: 'failed', durationMs: test.duration, error: error.stack ?? error.message }));
    });
    step = 'done';
  } catch (error) {
    // mocha.run() throws when a test file fails to load (a bad import, an error at top level).
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(`The integration tests failed while ${step}: ${message}`);
    results.push({ title: step, state: 'failed', error: message });
    failures = 1;
  } finally {
    restoreConsole();
  }

  const count = (state: TestResult['state']) => results.filter((r) => r.state === state).length;
  writeResults({
    step,
    passed: count('passed'),
    failed: count('failed'),
    pending: count('pending'),
    retried,
    durationMs: Math.round(performance.now() - started),
    vscodeVersion: vscode.version,
    tests: results,
    metrics: testMetrics.all(),
  });
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}

function writeResults(summary: { step: string; passed: number; failed: number; pending: number; retried: number; durationMs: number; vscodeVersion: string; tests: TestResult[]; metrics: unknown[] }): void {
  const resultsFile = process.env.HAROMBE_TEST_RESULTS;
  if (resultsFile) writeFileSync(resultsFile, JSON.stringify(summary, null, 2));
}

/**
 * Waits for Harombe's activation (onStartupFinished), however long a slow machine takes, rather
 * than racing it: the extension host calls run() as soon as it can, which on a slow start is
 * before start-up has finished.
 */
async function harombeReady(): Promise<void> {
  const extension = vscode.extensions.getExtension('harombe.harombe-vscode');
  if (!extension) throw new Error('harombe.harombe-vscode is not installed in this extension host');
  await extension.activate();
}

/**
 * The "Harombe" output channel at trace level for the whole run, so that the secrets check
 * (test/security) greps every line the extension can log, not only what the default level lets
 * through. It is the Output view's own "Set Log Level" of its active channel: the global level
 * (`_extensionTests.setLogLevel`) would also put code-server at trace, 150 MB of log per run.
 */
async function traceHarombeLog(): Promise<void> {
  await vscode.commands.executeCommand('harombe.showLogs');
  // The Output view registers its log-level commands once it has shown a channel, which can come a
  // moment after showLogs resolves on a slow start: wait for the command (bounded), then set it.
  const command = 'workbench.action.output.activeOutputLogLevel.1';
  for (let i = 0; i < 100 && !(await vscode.commands.getCommands(true)).includes(command); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await vscode.commands.executeCommand(command);
}

/** Marks what the tests and mocha's reporter print, until the returned function restores console. */
function markConsole(): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  // The extension host defines console's methods as getters (to attribute output to an extension),
  // so plain assignment is ignored: redefine them, and put the original descriptors back after.
  const descriptors = methods.map((method) => Object.getOwnPropertyDescriptor(console, method));
  for (const method of methods) {
    const original = console[method];
    Object.defineProperty(console, method, {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => original.call(console, hostOutput.mark(format(...args))),
    });
  }
  // The reporters took their own reference to console.log when mocha was loaded.
  const reporterLog = Mocha.reporters.Base.consoleLog;
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => reporterLog.call(console, hostOutput.mark(format(...args)));
  return () => {
    for (const [i, method] of methods.entries()) {
      const descriptor = descriptors[i];
      if (descriptor) Object.defineProperty(console, method, descriptor);
    }
    Mocha.reporters.Base.consoleLog = reporterLog;
  };
}

/**
 * The tests under restricted/ need a host whose workspace is not trusted, so the runner gives them
 * a code-server of their own (HAROMBE_TEST_SUITE=restricted); every other host runs the rest.
 */
function testFiles(dir: string, restricted: boolean): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.test.js') && name.startsWith(`restricted${path.sep}`) === restricted)
    .sort()
    .map((name) => path.join(dir, name));
}
