import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildConfig } from '../../../src/core/config/buildConfig';
import { ConfigError, type ConfigProblem } from '../../../src/core/config/configError';
import { ConfigWatcher } from '../../../src/core/config/configWatcher';
import { loadConfig } from '../../../src/core/config/loadConfig';
import { fixturesDir, fixtureText } from './configTestKit';

const SEED = 0x4a7031;
const RUNS = 1000;

/** Values that are wrong in some way for almost every key. */
const evilValues = [
  '', '~', 'null', '-1', '0', '65536', '70000', '-65535', '99999999999999999999999999', '1e400', '-1e400', '.nan', '.inf', '0x7fffffff', '0o777',
  'true', 'no', 'yes', '"8000"', "'x'", '[]', '{}', '[1, 2', '{a: 1', '&anchor x', '*missing', '!!binary aGk=', '!!python/object:os.system', '!<tag:x> 1',
  '"\\uD800"', '"\\x00"', '😀', '\u202e evil', '\u200b', '\ufeff', 'ĂĂĂ', 'a'.repeat(10_000), '|', '>-', '- a', ': :', '"unterminated', '%YAML 1.1', '---', '...',
  '${env:MISSING}', '${env:}', '${', '<<: *x', '? complex', '@reserved', '`backtick', '\t', '#', "'", '"',
];

/** Lines as YAML counts them: a lone CR ends a line too. */
function lines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

const mutation = fc.oneof(
  // Replace the value after the first colon on a line.
  fc.record({ kind: fc.constant('value' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...evilValues), fc.string({ maxLength: 20 }), fc.integer().map(String), fc.double().map(String)) }),
  // A key missing.
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  // A key (or list item) twice: duplicate keys and duplicate node names.
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('indent' as const), at: fc.nat(), by: fc.integer({ min: -4, max: 5 }), tab: fc.boolean() }),
  fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('unicode' as const), at: fc.nat(), s: fc.string({ unit: 'grapheme', maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('nest' as const), at: fc.nat(), depth: fc.integer({ min: 10, max: 1000 }), flow: fc.boolean() }),
  fc.record({ kind: fc.constant('nodes' as const), count: fc.integer({ min: 2, max: 40 }), port: fc.oneof(fc.integer({ min: -100_000, max: 100_000 }), fc.constant(8000)), sameName: fc.boolean() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function applyMutation(text: string, m: Mutation): string {
  const ls = lines(text);
  const i = 'at' in m ? m.at % Math.max(ls.length, 1) : 0;
  switch (m.kind) {
    case 'value': {
      const line = ls[i] ?? '';
      const c = line.indexOf(':');
      ls[i] = c >= 0 ? `${line.slice(0, c + 1)} ${m.value}` : `${line}${m.value}`;
      return ls.join('\n');
    }
    case 'delete':
      ls.splice(i, 1);
      return ls.join('\n');
    case 'duplicate':
      ls.splice(i, 0, ...Array<string>(m.count).fill(ls[i] ?? ''));
      return ls.join('\n');
    case 'indent': {
      const line = ls[i] ?? '';
      ls[i] = m.by >= 0 ? `${(m.tab ? '\t' : ' ').repeat(m.by)}${line}` : line.slice(Math.min(-m.by, line.length - line.trimStart().length));
      return ls.join('\n');
    }
    case 'bytes': {
      const pos = m.at % (text.length + 1);
      return text.slice(0, pos) + Buffer.from(m.bytes).toString('latin1') + text.slice(pos);
    }
    case 'unicode': {
      const pos = m.at % (text.length + 1);
      return text.slice(0, pos) + m.s + text.slice(pos);
    }
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
    case 'nest': {
      const deep = m.flow ? `deep: ${'['.repeat(m.depth)}1${']'.repeat(m.depth)}` : Array.from({ length: Math.min(m.depth, 400) }, (_, d) => `${' '.repeat(d)}k${d}:`).join('\n') + ' 1';
      ls.splice(i, 0, deep);
      return ls.join('\n');
    }
    case 'nodes': {
      const nodes = Array.from({ length: m.count }, (_, k) => `    - name: ${m.sameName ? 'dup' : `n${k}`}\n      host: 127.0.0.1\n      port: ${m.port}\n      model: m\n      tier: ${k % 4}`);
      return `${text}\ncluster:\n  nodes:\n${nodes.join('\n')}\n`;
    }
  }
}


const fixtureNames = readdirSync(fixturesDir).filter((f) => f.endsWith('.yaml')).sort();

/** Checks a problem's position against the text it points into. */
function checkPosition(p: ConfigProblem, file: string, text: string, ctx: string): 'placed' | 'unplaced' | 'columnBeyond' {
  if (p.file !== file) {
    // Only the defaults layer (a key no file sets) may be named instead of the file, and it has no place.
    assert.equal(p.file, 'defaults', `${ctx}: problem names an unknown file ${p.file}`);
    assert.deepEqual([p.line, p.column], [0, 0], ctx);
    return 'unplaced';
  }
  assert.ok(Number.isInteger(p.line) && Number.isInteger(p.column), `${ctx}: non-integer position`);
  assert.ok(p.line >= 1 && p.column >= 1, `${ctx}: position ${p.line}:${p.column} in a file (${p.message})`);
  const ls = lines(text);
  assert.ok(p.line <= ls.length + 1, `${ctx}: line ${p.line} beyond ${ls.length} lines (${p.message})`);
  assert.ok(p.message.length > 0, ctx);
  const lineText = ls[p.line - 1] ?? '';
  // Counted here, asserted by its own test below.
  return p.column <= lineText.length + 1 ? 'placed' : 'columnBeyond';
}

describe('config fuzz: 1,000 mutated harombe.yaml files', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'harombe-fuzz-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The 1,000 cases, run once for the two tests that read them, whichever of them runs first (or alone). */
  let fuzzed: { ok: number; configError: number; placed: number; unplaced: number; columnBeyond: number } | undefined;
  const fuzz = () => (fuzzed ??= runFuzz());
  const runFuzz = () => {
    const tally = { ok: 0, configError: 0, placed: 0, unplaced: 0, columnBeyond: 0 };
    const file = '/fuzz/.harombe/harombe.yaml';
    fc.assert(
      fc.property(fc.constantFrom(...fixtureNames), fc.array(mutation, { minLength: 1, maxLength: 4 }), (name, ms) => {
        const text = ms.reduce(applyMutation, fixtureText(name));
        const ctx = `${name} + ${JSON.stringify(ms).slice(0, 300)}`;
        try {
          const r = buildConfig([{ file, text }], { env: { HAROMBE_TOKEN: 'x' } });
          tally.ok++;
          for (const w of r.warnings) tally[checkPosition(w, file, text, ctx)]++;
        } catch (err) {
          if (!(err instanceof ConfigError)) throw new Error(`${ctx}: threw ${String(err)}`, { cause: err });
          tally.configError++;
          assert.ok(err.errors.length > 0, `${ctx}: ConfigError without an error`);
          for (const p of err.problems) tally[checkPosition(p, file, text, ctx)]++;
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    return tally;
  };

  it('buildConfig only succeeds or throws a ConfigError whose problems are placed within the text', () => {
    const tally = fuzz();
    assert.equal(tally.ok + tally.configError, RUNS, 'every generated case ran');
    // Both outcomes must be exercised, or the mutations are too weak (or too strong) to mean anything.
    assert.ok(tally.ok > 50 && tally.configError > 200, JSON.stringify(tally));
  });

  // yaml's LineCounter misses line starts inside an unclosed flow collection; positions must come
  // from the text itself, or later errors point past the end of their line.
  it('every problem\'s column lies within its line', () => {
    const { columnBeyond } = fuzz();
    assert.equal(columnBeyond, 0, `${columnBeyond} problems point past the end of their line`);
  });

  // A merge key resolves its alias itself: unless those expansions count against the alias limit,
  // an anchor that merges itself expands exponentially and takes the process down.
  it('a self-merging anchor gives a ConfigError in a bounded time and memory', () => {
    const text = 'x: &n\n  nodes:\n    - <<: *n\n      name: a\n    - <<: *n\n      name: b\n';
    const script = `const { buildConfig } = require(${JSON.stringify(join(__dirname, '../../../src/core/config/buildConfig.ts'))});
      try { buildConfig([{ file: 'f', text: ${JSON.stringify(text)} }], { env: {} }); process.stdout.write('ok'); }
      catch (e) { process.stdout.write(e.name); }`;
    const r = spawnSync(process.execPath, ['--max-old-space-size=256', '--require', 'tsx/cjs', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.stdout, 'ConfigError', `exit ${r.status} ${r.signal ?? ''} ${r.stderr.slice(0, 300)}`);
  });

  it('loadConfig reads mutated files from disk with the same guarantee (a sample of 150)', () => {
    const cwd = join(dir, 'load');
    mkdirSync(join(cwd, '.harombe'), { recursive: true });
    const file = join(cwd, '.harombe', 'harombe.yaml');
    fc.assert(
      fc.property(fc.constantFrom(...fixtureNames), fc.array(mutation, { minLength: 1, maxLength: 3 }), (name, ms) => {
        const text = ms.reduce(applyMutation, fixtureText(name));
        writeFileSync(file, text);
        try {
          loadConfig({ cwd, home: join(dir, 'nohome'), env: {} });
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          // The file on disk is read as UTF-8: positions refer to the decoded text.
          const decoded = Buffer.from(text).toString('utf8');
          for (const p of err.problems) checkPosition(p, file, decoded, name);
          assert.ok(err.errors.length > 0);
        }
      }),
      { seed: SEED + 1, numRuns: 150, endOnFailure: true },
    );
  });

  it('ConfigWatcher keeps the last good config through 100 mutations and reports each bad one', () => {
    const cwd = join(dir, 'watch');
    mkdirSync(join(cwd, '.harombe'), { recursive: true });
    const file = join(cwd, '.harombe', 'harombe.yaml');
    writeFileSync(file, fixtureText('guide-coordinator.yaml'));
    const watcher = new ConfigWatcher({ cwd, home: join(dir, 'nohome'), env: {}, debounceMs: 10_000 });
    const errors: ConfigError[] = [];
    let changes = 0;
    watcher.onDidError((e) => errors.push(e));
    watcher.onDidChange(() => changes++);
    try {
      let good = watcher.current;
      assert.ok(good);
      let bad = 0;
      fc.assert(
        fc.property(fc.constantFrom(...fixtureNames), fc.array(mutation, { minLength: 1, maxLength: 3 }), (name, ms) => {
          const text = ms.reduce(applyMutation, fixtureText(name));
          writeFileSync(file, text);
          let expected: ReturnType<typeof buildConfig> | undefined;
          try {
            expected = buildConfig([{ file, text: Buffer.from(text).toString('utf8') }], { env: {} });
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
          }
          const errorsBefore = errors.length;
          assert.doesNotThrow(() => watcher.reload());
          if (expected) {
            assert.equal(watcher.error, undefined);
            assert.deepEqual(watcher.current, expected.config);
            good = watcher.current;
          } else {
            bad++;
            assert.ok(watcher.error instanceof ConfigError, 'error not exposed');
            assert.strictEqual(watcher.current, good, 'the last good config was replaced by a bad one');
            // An identical bad text twice in a row is not news; otherwise the error is reported.
            assert.ok(errors.length <= errorsBefore + 1);
          }
        }),
        { seed: SEED + 2, numRuns: 100, endOnFailure: true },
      );
      assert.ok(bad > 10, `only ${bad} bad mutations`);
      assert.ok(errors.length > 0 && changes > 0, `errors ${errors.length}, changes ${changes}`);
    } finally {
      watcher.dispose();
    }
  });
});
