import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** One retry: a phase or a step that failed once and was tried again. */
export interface RetryRecord {
  /** The suite that retried: unit, faults, integration, e2e. */
  suite: string;
  /** What was retried, stable across runs (no times, ports or paths), so that runs can be compared. */
  what: string;
  /** The attempt about to start: 2 for the first retry. */
  attempt: number;
  reason: string;
  at: string;
}

/**
 * Retries are written down rather than hidden: every retry appends a line to the run's retry log
 * (HAROMBE_TEST_RETRIES, which `npm test` sets; the extension host gets it from the runner), and
 * the summary at the end of `npm test` counts them per suite and fails a strict run when a retry
 * was needed twice in a row (see test/vscode/testAll.ts).
 */
export const retryLog = {
  record(suite: string, what: string, attempt: number, reason: string): void {
    const line = JSON.stringify({ suite, what, attempt, reason: reason.split('\n')[0]?.slice(0, 300) ?? '', at: new Date().toISOString() } satisfies RetryRecord);
    console.log(`    RETRY ${suite}: ${what} (attempt ${attempt}): ${reason.split('\n')[0] ?? ''}`);
    const file = process.env.HAROMBE_TEST_RETRIES;
    if (!file) return;
    mkdirSync(path.dirname(file), { recursive: true });
    appendFileSync(file, `${line}\n`);
  },

  read(file: string): RetryRecord[] {
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as RetryRecord);
  },
};
