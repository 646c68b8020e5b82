import { strict as assert } from 'node:assert';
import { ThinkSplitter } from '../../../src/core/inference/thinkSplitter';

/** Feeds `pieces` through one splitter and joins what comes out. */
function run(pieces: string[]): { thinking: string; answer: string } {
  const s = new ThinkSplitter();
  let thinking = '';
  let answer = '';
  for (const p of [...pieces.map((x) => s.push(x)), s.flush()]) {
    thinking += p.thinking;
    answer += p.answer;
  }
  return { thinking, answer };
}

/** Every way of cutting `text` in two, and in single characters. */
function cuts(text: string): string[][] {
  const out: string[][] = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

describe('ThinkSplitter', () => {
  it('takes a leading <think> block out of the answer, wherever the pieces are cut (tags included)', () => {
    const text = '<think>\nLet me see: 2 < 3 and </thin is not a tag.\n</think>\n\nThe answer is 5.';
    for (const pieces of cuts(text)) {
      assert.deepEqual(run(pieces), { thinking: '\nLet me see: 2 < 3 and </thin is not a tag.\n', answer: 'The answer is 5.' }, JSON.stringify(pieces));
    }
  });

  it('allows whitespace before the opening tag', () => {
    for (const pieces of cuts('\n  <think>hmm</think>ok')) assert.deepEqual(run(pieces), { thinking: 'hmm', answer: 'ok' });
  });

  it('leaves an answer without reasoning untouched, even one that starts like the tag or mentions it later', () => {
    for (const text of ['Hello <think>x</think> world', '<thinking about it>', '<b>bold</b>', '<th', '  indented', 'a']) {
      for (const pieces of cuts(text)) assert.deepEqual(run(pieces), { thinking: '', answer: text }, JSON.stringify(pieces));
    }
  });

  it('keeps reasoning that never closed as reasoning (the model ran out of tokens while reasoning)', () => {
    for (const pieces of cuts('<think>still going </th')) assert.deepEqual(run(pieces), { thinking: 'still going </th', answer: '' });
  });

  it('gives the answer as it streams, holding back only what may be a tag', () => {
    const s = new ThinkSplitter();
    assert.deepEqual(s.push('<thi'), { thinking: '', answer: '' });
    assert.deepEqual(s.push('nk>draft </'), { thinking: 'draft ', answer: '' });
    assert.deepEqual(s.push('think>\n\nfinal'), { thinking: '', answer: 'final' });
    assert.deepEqual(s.push(' <think>'), { thinking: '', answer: ' <think>' });
  });
});
