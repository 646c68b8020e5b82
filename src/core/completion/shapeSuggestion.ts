/** Where the cursor is, as the rules below need it. */
export interface CursorContext {
  /** The text before the cursor on its line. */
  linePrefix: string;
  /** The text after the cursor on its line. */
  lineSuffix: string;
  /** The lines after the cursor's line (for not repeating them). */
  nextLines: string[];
  multiline: boolean;
}

const OPEN = '([{';
const CLOSE = ')]}';

/**
 * Decides whether a completion at the cursor may span lines: at the end of a line, or on an empty
 * one, after a block opener or in an empty body; in the middle of a line, only the rest of it.
 */
export function wantsMultiline(linePrefix: string, lineSuffix: string): boolean {
  if (lineSuffix.trim().length > 0 && !/^[)\]}>"'`;,\s]*$/.test(lineSuffix)) return false;
  if (linePrefix.trim().length === 0) return true;
  return /[{([:]\s*$|=>\s*$|\b(do|then|else)\s*$/.test(linePrefix);
}

/**
 * Turns a model's raw completion into what may be shown: one line where one is wanted; for
 * several, it stops at the end of the block the cursor is in (a line indented less than the
 * cursor's, a closing bracket the completion did not open), never repeats the text that already
 * follows the cursor, and keeps brackets balanced. Returns '' when nothing is worth showing.
 */
export function shapeSuggestion(raw: string, ctx: CursorContext, maxLines = 12): string {
  let text = raw.replace(/\r\n/g, '\n');
  if (!ctx.multiline) {
    const nl = text.indexOf('\n');
    if (nl >= 0) text = text.slice(0, nl);
  } else {
    text = cutAtBlockEnd(text, ctx, maxLines);
  }
  text = dropSuffixOverlap(text, ctx);
  text = balanceBrackets(text, ctx.linePrefix);
  // Trailing blank lines never help; trailing spaces do when text follows the cursor (`a + |b`).
  text = ctx.lineSuffix.trim().length > 0 ? text.replace(/\s*\n\s*$/, '') : text.replace(/\s+$/, '');
  return text.trim().length === 0 ? '' : text;
}

function indentOf(line: string): number {
  return /^[ \t]*/.exec(line)?.[0].length ?? 0;
}

function cutAtBlockEnd(text: string, ctx: CursorContext, maxLines: number): string {
  const lines = text.split('\n');
  const base = indentOf(ctx.linePrefix);
  const out: string[] = [lines[0] as string];
  let blank = 0;
  for (let i = 1; i < lines.length && out.length < maxLines; i++) {
    const line = lines[i] as string;
    if (line.trim().length === 0) {
      // Two blank lines in a row end what a person would take as one suggestion.
      if (++blank >= 2) break;
      out.push(line);
      continue;
    }
    blank = 0;
    // A line less indented than the cursor's is outside the block being written.
    if (indentOf(line) < base) break;
    // The model started writing what already follows: stop before it.
    const next = ctx.nextLines.find((l) => l.trim().length > 0);
    if (next !== undefined && line.trim() === next.trim()) break;
    out.push(line);
  }
  while (out.length > 1 && (out[out.length - 1] as string).trim().length === 0) out.pop();
  return out.join('\n');
}

/** The completion ends with (part of) what already follows the cursor on its line: that part is dropped. */
function dropSuffixOverlap(text: string, ctx: CursorContext): string {
  const suffix = ctx.lineSuffix.trimEnd();
  if (suffix.length === 0) return text;
  for (let n = Math.min(suffix.length, text.length); n > 0; n--) {
    if (text.endsWith(suffix.slice(0, n)) && suffix.slice(0, n).trim().length > 0) return text.slice(0, text.length - n);
  }
  return text;
}

/**
 * Cuts the completion at a closing bracket it did not open and that the line before the cursor
 * did not leave open: the model is closing a scope the editor already closes.
 */
function balanceBrackets(text: string, linePrefix: string): string {
  const stack: string[] = [];
  for (const ch of linePrefix) {
    if (OPEN.includes(ch)) stack.push(ch);
    else if (CLOSE.includes(ch)) stack.pop();
  }
  const prefixOpen = stack.length;
  let inString: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === inString) inString = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') inString = ch;
    else if (OPEN.includes(ch)) stack.push(ch);
    else if (CLOSE.includes(ch)) {
      const want = OPEN[CLOSE.indexOf(ch)];
      if (stack.length === 0 || stack[stack.length - 1] !== want) return text.slice(0, i);
      stack.pop();
      // It closed what the line before the cursor opened: fine, but nothing of an outer scope.
      if (stack.length < prefixOpen && stack.length === 0 && i + 1 < text.length && text.slice(i + 1).includes('\n')) return text.slice(0, i + 1);
    }
  }
  return text;
}
