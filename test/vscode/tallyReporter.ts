/**
 * mocha's spec reporter, plus a tally file for the summary at the end of `npm test`:
 * `test/security/captureOutput.ts` passes `--reporter` with this file and names the tally file in
 * HAROMBE_TEST_TALLY. mocha loads a reporter with require() and constructs what it gets, hence
 * `export =`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

/** Written by the tally reporter, and by the integration runner in the same shape. */
interface SuiteTally {
  passed: number;
  failed: number;
  pending: number;
  /** Tests that mocha ran again (`this.retries(n)`); retries a test does itself are in the retry log. */
  retried: number;
  pendingTests: string[];
}

class TallyReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const tally: SuiteTally = { passed: 0, failed: 0, pending: 0, retried: 0, pendingTests: [] };
    runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => tally.passed++);
    // Hook failures come here too: a before() that throws fails its suite without failing a test.
    runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => tally.failed++);
    runner.on(Mocha.Runner.constants.EVENT_TEST_PENDING, (test) => {
      tally.pending++;
      tally.pendingTests.push(test.fullTitle());
    });
    runner.on(Mocha.Runner.constants.EVENT_TEST_RETRY, () => tally.retried++);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.HAROMBE_TEST_TALLY;
      if (tally.pending > 0) console.log(`\n  ${tally.pending} pending (skipped): ${tally.pendingTests.join('; ')}`);
      if (!file) return;
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(tally, null, 2));
    });
  }
}

export = TallyReporter;
