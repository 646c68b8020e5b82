import { strict as assert } from 'node:assert';
import path from 'node:path';
import { runInThisContext } from 'node:vm';
import { buildSync } from 'esbuild';
import { asciiOnly } from '../../../scripts/asciiOnly.mjs';
import type { Classification } from '../../../src/core/routing/classification';
import { classify } from '../../../src/core/routing/classifier';
import { readLabelledPrompts } from '../../fixtures/routing/labelledPrompts';

const repoRoot = path.resolve(__dirname, '../../..');
/** Matches text with no character outside ASCII. */
const ASCII = /^[^\u0080-\uffff]*$/;

/** What `source`, a function body, returns, run as written and after `asciiOnly`: they must agree. */
function both(source: string): { before: unknown; after: unknown; escaped: string } {
  const escaped = asciiOnly(source);
  const run = (code: string) => (runInThisContext(`(function () {\n${code}\n})`) as () => unknown)();
  return { before: run(source), after: run(escaped), escaped };
}

describe('asciiOnly (the build step that keeps bundle sources one-byte)', () => {
  it('returns ASCII code unchanged', () => {
    const code = 'const a = "x"; return /y/.test(a);';
    assert.equal(asciiOnly(code), code);
  });

  it('escapes regex literals, strings, untagged templates, identifiers and comments without changing what they mean', () => {
    const cases = [
      String.raw`return ['aquí', 'это', 'x'].map((w) => /\b(?:aquí|это)$/.test(w));`,
      String.raw`return [/[à-ÿ]+/u.exec('zébra')?.[0], /[à-ÿ]+/.exec('zébra')?.[0]];`,
      String.raw`return /😀+/u.exec('a😀😀b')?.[0].length;`,
      String.raw`return /^.$/u.test('😀') && !/^.$/.test('😀');`,
      String.raw`return ['\é', "\\é", 'é\\', '😀'];`,
      String.raw`return /\é|\\é/.exec('a\\éb')?.[0];`,
      'return `é${1 + 1}ü\\é`;',
      'const café = 2; /* ceci n’est pas */ return café * 2; // ¶',
      'return { ключ: 1 }.ключ;',
    ];
    for (const c of cases) {
      const { before, after, escaped } = both(c);
      assert.match(escaped, ASCII, c);
      assert.deepEqual(after, before, c);
    }
  });

  it('refuses what an escape would change, naming the line: a raw template, non-ASCII whitespace', () => {
    assert.throws(() => asciiOnly('const a = 1;\nconst b = String.raw`aquí`;'), /bundle:2: non-ASCII text in a tagged template/);
    assert.throws(() => asciiOnly('const t = (s) => s;\nconst b = t`${1}é`;', 'x.js'), /x\.js:2: non-ASCII text in a tagged template/);
    assert.throws(() => asciiOnly('const a =\u00a01;'), /bundle:1: a non-ASCII character outside any literal/);
    // Raw text without non-ASCII is left to the tag, escapes around it are still made.
    const { before, after } = both('return [String.raw`a\\b`, "é"];');
    assert.deepEqual(after, before);
  });

  it('keeps the bundled classifier answering exactly as the source does, on every labelled prompt', () => {
    const built = buildSync({ entryPoints: [path.join(repoRoot, 'src/core/routing/classifier.ts')], bundle: true, format: 'cjs', platform: 'node', target: 'node20', write: false });
    const text = built.outputFiles[0]?.text ?? '';
    assert.match(text, /[\u0080-\uffff]/, 'the classifier bundle has non-ASCII patterns to escape');
    const escaped = asciiOnly(text);
    assert.match(escaped, ASCII);
    const mod = { exports: {} as { classify?: typeof classify } };
    (runInThisContext(`(function (module, exports, require) {\n${escaped}\n})`) as (m: unknown, e: unknown, r: unknown) => void)(mod, mod.exports, require);
    const bundled = mod.exports.classify;
    assert.ok(bundled);
    // The corpus: prompts in ten languages, through the model's non-ASCII concept stems and weights.
    const files = ['heldout', 'adversarial', 'blind', 'blind2', 'blind3', 'corpus'].map((n) => path.join(repoRoot, 'test/fixtures/routing', `${n}.jsonl`));
    const prompts = files.flatMap((f) => readLabelledPrompts(f) ?? assert.fail(`${f} is missing`));
    assert.ok(prompts.length > 100);
    let nonAscii = 0;
    for (const { input } of prompts) {
      if (!ASCII.test(input.prompt)) nonAscii++;
      assert.deepEqual<Classification>(bundled(input), classify(input), input.prompt);
    }
    assert.ok(nonAscii >= 1_000, `only ${nonAscii} labelled prompts with non-ASCII text`);
  });
});
