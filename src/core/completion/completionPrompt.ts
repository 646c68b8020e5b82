import { wantsMultiline, type CursorContext } from './shapeSuggestion';

/** A snippet of another open file, offered to the model as context. */
export interface Snippet {
  filename: string;
  text: string;
}

export interface CompletionPrompt {
  prefix: string;
  suffix: string;
  /** Snippets of other files, most relevant first, within the budget. */
  extra: Snippet[];
  cursor: CursorContext;
}

export interface PromptBudget {
  /** Tokens the whole prompt may take (a share of the node's window). */
  tokens: number;
  /** Share of the budget for the text after the cursor. */
  suffixShare?: number;
}

/**
 * Characters per token assumed when cutting the windows: code runs about 3 characters a token
 * in the tokenizers local coder models use, so 3 keeps the prompt inside its budget.
 */
const CHARS_PER_TOKEN = 3;

/**
 * The text around the cursor a fill-in-the-middle request sends: as much of the prefix as the
 * budget allows (it matters most), a smaller window of the suffix, then snippets of other open
 * files with what is left. Cuts fall on line boundaries, so the model never sees half a line
 * at the far ends.
 */
export function buildCompletionPrompt(text: string, offset: number, snippets: readonly Snippet[], budget: PromptBudget): CompletionPrompt {
  const chars = Math.max(256, budget.tokens * CHARS_PER_TOKEN);
  const suffixChars = Math.floor(chars * (budget.suffixShare ?? 0.2));
  const before = text.slice(0, offset);
  const after = text.slice(offset);
  const prefix = tailLines(before, chars - Math.min(suffixChars, after.length));
  const suffix = headLines(after, suffixChars);
  let left = chars - prefix.length - suffix.length;
  const extra: Snippet[] = [];
  for (const s of snippets) {
    if (left <= 200) break;
    const piece = headLines(s.text, left - s.filename.length - 16);
    if (piece.trim().length === 0) continue;
    extra.push({ filename: s.filename, text: piece });
    left -= piece.length + s.filename.length + 16;
  }
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = after.indexOf('\n');
  const linePrefix = before.slice(lineStart);
  const lineSuffix = lineEnd < 0 ? after : after.slice(0, lineEnd);
  const nextLines = lineEnd < 0 ? [] : after.slice(lineEnd + 1).split('\n', 8);
  return { prefix, suffix, extra, cursor: { linePrefix, lineSuffix, nextLines, multiline: wantsMultiline(linePrefix, lineSuffix) } };
}

/** The end of `text`, at most `max` characters, starting at a line boundary (unless it is all one line). */
function tailLines(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(text.length - max);
  const nl = cut.indexOf('\n');
  return nl < 0 ? cut : cut.slice(nl + 1);
}

/** The start of `text`, at most `max` characters, ending at a line boundary. */
function headLines(text: string, max: number): string {
  if (max <= 0) return '';
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const nl = cut.lastIndexOf('\n');
  return nl < 0 ? cut : cut.slice(0, nl + 1);
}
