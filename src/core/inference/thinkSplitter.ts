import type { ChatChunk } from './types';

const OPEN = '<think>';
const CLOSE = '</think>';

/** What one piece of content holds once the reasoning is taken out. */
export interface SplitText {
  thinking: string;
  answer: string;
}

/**
 * Takes the reasoning out of a streamed answer's content. Servers without a reasoning parser
 * (Ollama before 0.12.5, llama.cpp and vLLM without `--reasoning-parser`, many OpenAI-compatible
 * servers) send a reasoning model's draft at the start of the content between `<think>` and
 * `</think>`; the pieces arrive cut anywhere, tags included. Only a `<think>` at the very start
 * (after whitespace) opens reasoning: a tag later in an answer is the answer's own text (a model
 * explaining the tag, say), and is left alone.
 */
export class ThinkSplitter {
  private state: 'start' | 'thinking' | 'afterThink' | 'answer' = 'start';
  /** Text held back because it may be the start of a tag. */
  private held = '';

  push(text: string): SplitText {
    if (this.state === 'answer') return { thinking: '', answer: text };
    let thinking = '';
    let answer = '';
    let rest = this.held + text;
    this.held = '';
    while (rest.length > 0) {
      if (this.state === 'start') {
        const lead = rest.length - rest.trimStart().length;
        const body = rest.slice(lead);
        if (body.length === 0 || (body.length < OPEN.length && OPEN.startsWith(body))) {
          this.held = rest;
          return { thinking, answer };
        }
        if (body.startsWith(OPEN)) {
          this.state = 'thinking';
          rest = body.slice(OPEN.length);
          continue;
        }
        this.state = 'answer';
        answer += rest;
        break;
      }
      if (this.state === 'thinking') {
        const end = rest.indexOf(CLOSE);
        if (end >= 0) {
          thinking += rest.slice(0, end);
          rest = rest.slice(end + CLOSE.length);
          this.state = 'afterThink';
          continue;
        }
        const keep = partialTagLength(rest, CLOSE);
        thinking += rest.slice(0, rest.length - keep);
        this.held = rest.slice(rest.length - keep);
        break;
      }
      if (this.state === 'afterThink') {
        // The blank line models put between `</think>` and the answer is not part of the answer.
        const trimmed = rest.trimStart();
        if (trimmed.length === 0) break;
        this.state = 'answer';
        answer += trimmed;
        break;
      }
      answer += rest;
      break;
    }
    return { thinking, answer };
  }

  /** At the end of the content: what was held back for a tag that never came. */
  flush(): SplitText {
    const held = this.held;
    this.held = '';
    if (this.state === 'thinking') return { thinking: held, answer: '' };
    if (this.state === 'start' && held.trim().length === 0) return { thinking: '', answer: '' };
    return { thinking: '', answer: held };
  }
}

/** How many characters at the end of `text` could be the first characters of `tag`. */
function partialTagLength(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}

/** A split piece as chunks: the reasoning first, then the answer; nothing for empty parts. */
export function* splitChunks(split: SplitText): Generator<ChatChunk> {
  if (split.thinking.length > 0) yield { type: 'thinking', text: split.thinking };
  if (split.answer.length > 0) yield { type: 'delta', text: split.answer };
}
