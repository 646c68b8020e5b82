import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { estimatePromptTokens, estimateTokens } from '../../../src/core/routing/tokenEstimate';
import { exactTokens, renderedPromptTokens } from '../../fakes/fakeTokenizer';

const root = path.join(__dirname, '../../..');
function sources(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel, ext));
    else if (e.name.endsWith(ext)) out.push(fs.readFileSync(path.join(root, rel), 'utf8'));
  }
  return out;
}

/** The estimate against an exact BPE count (cl100k, js-tiktoken): never under, not far over on code. */
describe('estimateTokens', () => {
  const samples: Record<string, string[]> = {
    code: sources('src/core', '.ts'),
    prose: [fs.readFileSync(path.join(root, 'README.md'), 'utf8'), fs.readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8')],
    json: [
      fs.readFileSync(path.join(root, 'package.json'), 'utf8'),
      fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8').slice(0, 100_000),
      JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.37, tags: ['a', 'bb'], ok: i % 2 === 0 }))),
    ],
    cjk: ['这是一个测试句子，我们要看看分词器如何处理中文文本。日本語のテキストも含まれています。'.repeat(40), '안녕하세요 이것은 테스트 문장입니다. '.repeat(40)],
    other: [
      'Привет, как дела? Это тестовый текст на русском языке. '.repeat(40),
      'Grüße aus München! Über die Brücke. '.repeat(40),
      '👋🎉🚀 hello 😀'.repeat(50),
      Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31 + ((i * i) % 7)) % 256)).toString('base64'),
      Array.from({ length: 300 }, (_, i) => ((i * 2654435761) >>> 0).toString(16)).join(''),
      '!@#$%^&*()_+-=[]{}|;:,.<>?/~`'.repeat(40),
      '        x\n'.repeat(200),
    ],
  };

  for (const [kind, texts] of Object.entries(samples)) {
    it(`never counts fewer tokens than cl100k: ${kind}`, () => {
      for (const t of texts) {
        const exact = exactTokens(t);
        assert.ok(estimateTokens(t) >= exact, `${kind}: estimated ${estimateTokens(t)} for ${exact} tokens of ${JSON.stringify(t.slice(0, 40))}`);
      }
    });
  }

  it('overcounts this repository\'s code by at most 35% in all (chars/4 would undercount it)', () => {
    // Hand-written code: generated data (the classifier's base64 weights) is checked for no undercount above, not here.
    const all = samples.code!.filter((t) => !t.startsWith('// Generated')).join('\n');
    const exact = exactTokens(all);
    const ratio = estimateTokens(all) / exact;
    assert.ok(ratio <= 1.35, `overcount ${ratio.toFixed(2)}`);
    assert.ok(all.length / 4 < exact, 'chars/4 is not the conservative reference this test assumes');
  });

  it('a whole chat request: never under the rendered template with tool schemas', () => {
    const messages = [
      { role: 'system' as const, content: 'You are a coding agent.' },
      { role: 'user' as const, content: samples.code![0]!.slice(0, 5000) },
      { role: 'assistant' as const, content: '', tool_calls: [{ id: 'a', name: 'read_file', arguments: { path: 'src/a.ts' } }] },
      { role: 'tool' as const, content: samples.code![1]!.slice(0, 3000), tool_call_id: 'a' },
    ];
    const tools = [{ name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }];
    const exact = renderedPromptTokens(messages, tools.map((t) => ({ type: 'function', function: t })));
    assert.ok(estimatePromptTokens(messages, tools) >= exact, `${estimatePromptTokens(messages, tools)} < ${exact}`);
  });
});
