import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, type ConfigProblem } from '../../../src/core/config/configError';

export const fixturesDir = resolve(__dirname, '../../fixtures/config');

export function fixturePath(name: string): string {
  return join(fixturesDir, name);
}

export function fixtureText(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

/**
 * 1-based line and column of the `nth` occurrence of `needle` in `text`, computed from the raw
 * text so tests state positions as "where this snippet is" rather than as magic numbers.
 */
export function positionOf(text: string, needle: string, nth = 1): { line: number; column: number } {
  let index = -1;
  for (let i = 0; i < nth; i++) {
    index = text.indexOf(needle, index + 1);
    assert.ok(index >= 0, `fixture does not contain ${JSON.stringify(needle)} ${nth} time(s)`);
  }
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  const column = index - before.lastIndexOf('\n');
  return { line, column };
}

/** Runs `fn`, which must throw a ConfigError, and returns it. */
export function expectConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError, but the config loaded');
}

/** The one problem whose message starts with `prefix`; fails listing all problems otherwise. */
export function problemStartingWith(problems: readonly ConfigProblem[], prefix: string): ConfigProblem {
  const found = problems.filter((p) => p.message.startsWith(prefix));
  assert.equal(found.length, 1, `expected one problem starting with ${JSON.stringify(prefix)}, got:\n${problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n')}`);
  return found[0] as ConfigProblem;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'harombe-config-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
