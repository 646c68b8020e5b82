import { strict as assert } from 'node:assert';
import path from 'node:path';
import type { ClassifyInput, Intent, Tier } from '../../../src/core/routing/classification';
import { classify } from '../../../src/core/routing/classifier';
import { readLabelledPrompts, type LabelledPrompt } from '../../fixtures/routing/labelledPrompts';
import { strictTests } from '../../vscode/strictTests';

const repoRoot = path.resolve(__dirname, '../../..');
// dev.jsonl sits beside the checkout (in CI too), not inside it.
const devFile = path.resolve(repoRoot, '../shared/routing/dev.jsonl');
const fixtures = path.resolve(repoRoot, 'test/fixtures/routing');

const tierOf = (prompt: string, intent: Intent = 'chat', contextChars = 0): Tier =>
  classify({ prompt, intent, contextChars }).tier;

function expectTier(cases: readonly (readonly [string, Tier] | readonly [string, Tier, number] | readonly [string, Tier, number, Intent])[]): void {
  const wrong: string[] = [];
  for (const [prompt, tier, contextChars = 0, intent = 'chat'] of cases) {
    const got = classify({ prompt, intent, contextChars });
    if (got.tier !== tier) wrong.push(`want ${tier} got ${got.tier} [${got.reasons.join('; ')}]: ${prompt}`);
  }
  assert.deepEqual(wrong, []);
}

interface Score {
  accuracy: number;
  /** confusion[want][got] */
  confusion: number[][];
  misses: string[];
}

function score(rows: LabelledPrompt[]): Score {
  const confusion = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const misses: string[] = [];
  let right = 0;
  for (const row of rows) {
    const got = classify(row.input);
    const line = confusion[row.tier];
    if (line) line[got.tier] = (line[got.tier] ?? 0) + 1;
    if (got.tier === row.tier) right++;
    else misses.push(`want ${row.tier} got ${got.tier} [${got.reasons.join('; ')}]: ${row.input.prompt.slice(0, 100)}`);
  }
  return { accuracy: right / rows.length, confusion, misses };
}

function assertAccurate(rows: LabelledPrompt[], min: number): void {
  const s = score(rows);
  assert.ok(
    s.accuracy >= min,
    `accuracy ${s.accuracy.toFixed(3)} < ${min}; confusion ${JSON.stringify(s.confusion)}\n${s.misses.join('\n')}`,
  );
}

describe('classify', () => {
  describe('fixed rules', () => {
    it('routes the refactor intent to tier 2 whatever the text says', () => {
      const c = classify({ prompt: 'hi', intent: 'refactor', contextChars: 100 });
      assert.equal(c.tier, 2);
      assert.equal(c.reasons[0], 'refactor intent');
    });

    it('routes the tests intent to tier 2 whatever the text says', () => {
      const c = classify({ prompt: 'what is this?', intent: 'tests', contextChars: 0 });
      assert.equal(c.tier, 2);
      assert.equal(c.reasons[0], 'tests intent');
    });

    it('routes context over 24,000 chars to tier 2', () => {
      const c = classify({ prompt: 'hey, thanks!', contextChars: 31_000 });
      assert.equal(c.tier, 2);
      assert.equal(c.reasons[0], 'context 31,000 chars > 24,000');
      assert.equal(tierOf('which line sets the port?', 'chat', 24_001), 2);
    });

    it('puts context of 6,000 to 24,000 chars at least at tier 1', () => {
      for (const chars of [6_000, 12_500, 24_000]) {
        const c = classify({ prompt: 'what language is this?', contextChars: chars });
        assert.equal(c.tier, 1, `${chars} chars`);
        assert.match(c.reasons[0] ?? '', /^context [\d,]+ chars ≥ 6,000$/);
      }
      assert.equal(tierOf('what language is this?', 'chat', 5_999), 0);
      // "At least" tier 1: the text can still raise it.
      assert.equal(tierOf('refactor this into smaller functions', 'chat', 9_000), 2);
    });

    it('puts the explain, fix and docs code actions at least at tier 1', () => {
      for (const intent of ['explain', 'fix', 'docs'] as const) {
        const c = classify({ prompt: 'this', intent, contextChars: 300 });
        assert.equal(c.tier, 1, intent);
        assert.equal(c.reasons[0], `${intent} intent`);
      }
    });

    it('classifies an empty prompt as tier 0 with a reason, unless a fixed rule applies', () => {
      for (const prompt of ['', '   ', '\n\t']) {
        const c = classify({ prompt });
        assert.equal(c.tier, 0);
        assert.deepEqual(c.reasons, ['empty prompt']);
      }
      assert.equal(tierOf('', 'chat', 30_000), 2);
      assert.equal(tierOf('', 'tests'), 2);
    });
  });

  describe('the rubric', () => {
    it('tier 0: facts, syntax, one-line commands, one line of code, small talk', () => {
      expectTier([
        ['how do I reverse a list in Python?', 0],
        ['git command to undo last commit', 0],
        ['hello!', 0],
        ['thanks, that did it', 0],
        ['is a tuple mutable in Python?', 0],
        ['what does `a ||= b` do in Ruby?', 0],
        ['convert 255 to hex', 0],
        ['what is the default port for SSH', 0],
      ]);
    });

    it('tier 0: questions about the concept of refactoring or testing', () => {
      expectTier([
        ['what does refactoring mean?', 0],
        ['what is a unit test?', 0],
        ['is refactoring without tests risky? short answer', 0],
        ['how do I run a single test in go', 0],
      ]);
    });

    it('tier 1: explain in depth, diagnose, one function, regex, docs, translate, compare', () => {
      expectTier([
        ['explain async/await in Python', 1],
        ['explain in depth how the JVM JIT decides what to compile', 1],
        ['Explain how this function works', 1, 1500],
        ["TypeError: Cannot read properties of null (reading 'id')\n    at render (App.tsx:10:5)\nwhy?", 1],
        ['write a function that returns the median of a list of numbers', 1],
        ['write a regex that matches IPv4 addresses', 1],
        ['summarize this file', 1, 3000],
        ['write docstrings for this class', 1, 2000],
        ['write a commit message for this diff', 1, 1800],
        ['translate this snippet to Go: `xs.map(x => x * 2)`', 1],
        ['Flask or FastAPI for a small internal API? brief comparison', 1],
      ]);
    });

    it('tier 2: refactor, tests, design, audits, multi-file features, many asks, many documents', () => {
      expectTier([
        ['refactor this class', 2, 2000],
        ['restructure this module so the I/O is separate from the logic', 2, 3000],
        ['migrate this service from Express to Koa', 2, 5000],
        ['modernize this code', 2, 1000],
        ['write unit tests for this function', 2, 800],
        ['design a notification system for a social app and discuss the trade-offs', 2],
        ['do a security audit of this authentication module', 2, 9000],
        ['implement user avatars across the API, the storage service and the profile page', 2],
        ['Add a search box, wire it to the /search endpoint, and highlight the matches in the results', 2],
        ['write a priority queue in Java and explain the trade-offs of a binary heap versus a skip list', 2],
        ['compare these 10 papers and summarize where they disagree', 2, 20_000],
        ['find patterns across these modules in how they validate input', 2, 14_000],
      ]);
    });

    it('never routes a request for tests or a refactor below tier 2', () => {
      const prompts = [
        'refactor',
        'Refactor this to use composition instead of inheritance',
        'can you clean this up? split the parsing from the printing',
        'pull the retry logic out of this class into a helper',
        'rewrite this with async/await',
        'make this function pure and testable',
        'convert this class component to hooks',
        'get rid of the duplicated code in these handlers',
        'move this project off Mocha and onto Vitest',
        'port this module to Go',
        'write tests',
        'tests please',
        'add a regression test for this bug',
        'generate Jest tests for this hook, cover the edge cases',
        'I need unit tests for the parser',
        'write a test suite for our REST API',
        'could you add test coverage for the error paths?',
      ];
      for (const prompt of prompts) {
        for (const contextChars of [0, 1_500, 8_000]) {
          const c = classify({ prompt, contextChars });
          assert.equal(c.tier, 2, `${prompt} (context ${contextChars}) → ${c.reasons.join('; ')}`);
        }
      }
    });

    it('attached context with a vague question is reasoning over code (tier 1), a lookup is not', () => {
      expectTier([
        ['why null here?', 1, 1800],
        ['is this thread-safe?', 1, 1200],
        ['what language is this?', 0, 700],
        ['thanks!', 0, 3000],
      ]);
    });

    it('looks past a long preamble the user dismisses', () => {
      const prompt =
        'Some background: we run twelve services on Kubernetes, half of them written in Go, the rest in Node, ' +
        'and we are thinking about migrating the Node ones and refactoring our CI. Anyway, that is not the ' +
        'question. What is the kubectl flag to show labels?';
      assert.equal(tierOf(prompt), 0);
    });

    it('reads the ask around pasted material, not the material itself', () => {
      const article = Array.from(
        { length: 10 },
        (_, i) =>
          `Section ${i}. Teams refactor legacy code, migrate services, audit every module, write tests ` +
          'and design systems with trade-offs; then they deploy, monitor and document it.',
      ).join('\n\n');
      assert.equal(tierOf(`summarize this article:\n\n${article}`), 1);
      assert.equal(tierOf(`${article}\n\nwhat is the main point of the above?`), 1);
      assert.equal(tierOf(`${article}\n\nturn the above into a migration plan for our services and spell out the trade-offs`), 2);
    });

    it('counts a pasted multi-line code block as code to reason about', () => {
      const prompt = 'what does this do?\n```py\ndef f(xs):\n    seen = set()\n    return [x for x in xs if not (x in seen or seen.add(x))]\n```';
      assert.equal(tierOf(prompt), 1);
    });
  });

  describe('reasons', () => {
    it('are short, human and most decisive first', () => {
      const cases: [ClassifyInput, RegExp][] = [
        [{ prompt: 'tidy this', intent: 'refactor' }, /^refactor intent$/],
        [{ prompt: 'refactor this into smaller functions', contextChars: 2000 }, /refactor/],
        [{ prompt: 'write tests for this', contextChars: 900 }, /tests/],
        [{ prompt: 'explain in depth how Raft elects a leader' }, /^explain in depth$/],
        [{ prompt: 'Add a toggle, persist it in the store, and document it in the README' }, /^\d+ distinct asks$/],
        [{ prompt: 'what is the capital of France?' }, /^short factual question$/],
        [{ prompt: 'hi there' }, /^greeting or small talk$/],
      ];
      for (const [input, first] of cases) {
        const c = classify(input);
        assert.ok(c.reasons.length > 0, input.prompt);
        assert.match(c.reasons[0] ?? '', first, `${input.prompt}: ${c.reasons.join('; ')}`);
        for (const reason of c.reasons) assert.ok(reason.length > 0 && reason.length <= 60, reason);
      }
    });

    it('every classification has at least one reason', () => {
      const rows = readLabelledPrompts(path.join(fixtures, 'heldout.jsonl')) ?? [];
      for (const row of rows) assert.ok(classify(row.input).reasons.length > 0, row.input.prompt);
    });
  });

  describe('accuracy', () => {
    it('≥ 0.85 on the shared dev set (../shared/routing/dev.jsonl)', function () {
      const rows = readLabelledPrompts(devFile);
      if (!rows) strictTests.skip(this, `${devFile} not found (it sits beside the checkout)`);
      assertAccurate(rows, 0.85);
    });

    // Written to the rubric before the classifier was tuned against it.
    it('≥ 0.85 on the held-out set', () => {
      const rows = readLabelledPrompts(path.join(fixtures, 'heldout.jsonl'));
      assert.ok(rows && rows.length >= 60, 'held-out set has at least 60 prompts');
      assertAccurate(rows, 0.85);
    });

    // Later rounds, each written to the rubric and scored once before any change for it.
    for (const name of ['adversarial', 'blind', 'blind2', 'blind3']) {
      it(`≥ 0.85 on the ${name} set`, () => {
        const rows = readLabelledPrompts(path.join(fixtures, `${name}.jsonl`));
        assert.ok(rows, `${name}.jsonl exists`);
        assertAccurate(rows, 0.85);
      });
    }
  });

  describe('pathological input', () => {
    it('classifies a 100k-character prompt (long pasted material goes to tier 2)', () => {
      const c = classify({ prompt: 'why is this slow, and can you refactor it? '.repeat(2_400) });
      assert.equal(c.tier, 2);
      assert.match(c.reasons[0] ?? '', /^prompt [\d,]+ chars > 24,000$/);
    });

    it('does not blow up on repetitive input built to trip backtracking', () => {
      const bodies = [
        'a'.repeat(100_000),
        ' '.repeat(100_000),
        '`'.repeat(100_000),
        '\n'.repeat(100_000),
        'write '.repeat(3_000),
        'across the '.repeat(2_000),
        'all the '.repeat(2_500),
        'why is '.repeat(2_500),
        '1) '.repeat(5_000),
        ('```\n' + 'x = 1;\n'.repeat(50)).repeat(40),
        'what does `'.repeat(1_800),
        'split this into '.repeat(1_200),
      ];
      for (const prompt of bodies) {
        const c = classify({ prompt });
        // Every body is long, so the length rules decide at least this much, whatever else matched.
        const label = `${JSON.stringify(prompt.slice(0, 20))} × ${prompt.length}`;
        if (prompt.length > 24_000) assert.equal(c.tier, 2, label);
        else assert.ok(c.tier >= 1, `${label}: tier ${c.tier}`);
        assert.ok(c.reasons.length > 0, label);
      }
    });

    it('treats a medium pasted document (6,000–24,000 chars) as at least tier 1', () => {
      const c = classify({ prompt: `summarize:\n${'The quarterly report shows growth. '.repeat(400)}` });
      assert.ok(c.tier >= 1);
    });
  });
});
