import { strict as assert } from 'node:assert';
import { AdaptiveDebounce } from '../../../src/core/completion/adaptiveDebounce';
import { CompletionCache } from '../../../src/core/completion/completionCache';
import { buildCompletionPrompt } from '../../../src/core/completion/completionPrompt';
import { fimTemplateFor } from '../../../src/core/completion/fimTemplates';
import { shapeSuggestion, wantsMultiline } from '../../../src/core/completion/shapeSuggestion';

const at = (text: string, marker = '|') => ({ text: text.replace(marker, ''), offset: text.indexOf(marker) });

describe('completion parts', () => {
  describe('shapeSuggestion', () => {
    const cursorOf = (doc: string) => {
      const { text, offset } = at(doc);
      return buildCompletionPrompt(text, offset, [], { tokens: 1024 }).cursor;
    };

    it('in the middle of a line: only the rest of the line, without repeating what follows the cursor', () => {
      const cursor = cursorOf('const total = |price * count;\nnext();\n');
      assert.equal(cursor.multiline, false);
      assert.equal(shapeSuggestion('tax + price * count;\nmore()', cursor), 'tax + ');
      const call = cursorOf('const x = compute(|);\n');
      assert.equal(shapeSuggestion('a, b);', call), 'a, b');
    });

    it('after a block opener: several lines, stopping where the block ends and before the lines that follow', () => {
      const cursor = cursorOf('function f() {\n  |\n}\nconsole.log(f());\n');
      assert.equal(cursor.multiline, true);
      const raw = 'const a = 1;\n  return a;\n}\n\nfunction g() {\n  return 2;\n}';
      assert.equal(shapeSuggestion(raw, cursor), 'const a = 1;\n  return a;');
    });

    it('cuts at a closing bracket the completion did not open', () => {
      const cursor = cursorOf('call(|');
      assert.equal(shapeSuggestion('x)) + 1', cursor), 'x)');
      assert.equal(shapeSuggestion('"a)", b', cursor), '"a)", b', 'brackets in strings do not count');
    });

    it('shows nothing for whitespace', () => {
      assert.equal(shapeSuggestion('   \n  ', cursorOf('let a = |')), '');
    });

    it('multi-line only where a block can start', () => {
      assert.equal(wantsMultiline('if (x) {', ''), true);
      assert.equal(wantsMultiline('    ', ''), true);
      assert.equal(wantsMultiline('let a = ', 'b;'), false);
      assert.equal(wantsMultiline('foo(', ')'), true);
    });
  });

  describe('buildCompletionPrompt', () => {
    it('keeps the prefix nearest the cursor, a smaller suffix, cuts on line boundaries, and fills the rest with snippets', () => {
      const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}`);
      const text = lines.join('\n');
      const offset = text.indexOf('line 1000');
      const p = buildCompletionPrompt(text, offset, [{ filename: 'b.ts', text: 'export const b = 1;\n' }], { tokens: 300 });
      assert.ok(p.prefix.endsWith('line 999\n'));
      assert.ok(p.prefix.startsWith('line '), 'starts at a line boundary');
      assert.ok(p.suffix.startsWith('line 1000'));
      assert.ok(p.prefix.length > p.suffix.length);
      assert.ok(p.prefix.length + p.suffix.length <= 900);
      const small = buildCompletionPrompt('a|b'.replace('|', ''), 1, [{ filename: 'b.ts', text: 'export const b = 1;\n' }], { tokens: 300 });
      assert.deepEqual(small.extra, [{ filename: 'b.ts', text: 'export const b = 1;\n' }]);
    });
  });

  describe('CompletionCache', () => {
    it('serves the rest of a suggestion while the user types into it, and evicts the least recently used', () => {
      const cache = new CompletionCache(2);
      cache.set('a.ts', 'const x = ', ';\n', 'compute(1, 2)');
      assert.equal(cache.get('a.ts', 'const x = ', ';\n'), 'compute(1, 2)');
      assert.equal(cache.get('a.ts', 'const x = comp', ';\n'), 'ute(1, 2)');
      assert.equal(cache.get('a.ts', 'const x = cx', ';\n'), undefined, 'typed something else');
      assert.equal(cache.get('b.ts', 'const x = ', ';\n'), undefined, 'another file');
      cache.set('a.ts', 'p2', '', 'two');
      cache.get('a.ts', 'const x = ', ';\n');
      cache.set('a.ts', 'p3', '', 'three');
      assert.equal(cache.get('a.ts', 'p2', ''), undefined, 'p2 was least recently used');
      assert.equal(cache.get('a.ts', 'const x = ', ';\n'), 'compute(1, 2)');
    });
  });

  describe('AdaptiveDebounce', () => {
    it('waits about one gap between keys, less for a slow node, within bounds', () => {
      const d = new AdaptiveDebounce(40, 300, 180);
      let t = 0;
      for (let i = 0; i < 30; i++) d.keystroke((t += 80));
      const fastTyping = d.delay(undefined);
      assert.ok(fastTyping < 180 && fastTyping >= 40, String(fastTyping));
      assert.ok(d.delay(400) < d.delay(50));
      assert.equal(d.delay(100_000), 40);
      const slow = new AdaptiveDebounce(40, 300, 180);
      for (let i = 0; i < 30; i++) slow.keystroke((t += 900));
      assert.equal(slow.delay(undefined), 300);
    });
  });

  it('fimTemplateFor knows the coder families', () => {
    assert.equal(fimTemplateFor('qwen2.5-coder:1.5b')?.render('a', 'b'), '<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>');
    assert.equal(fimTemplateFor('codellama:7b-code')?.render('a', 'b'), '<PRE> a <SUF>b <MID>');
    assert.equal(fimTemplateFor('llama3.1:8b'), undefined);
  });
});
