/**
 * Pulls the code out of a model's answer. Models wrap code in prose and fences however they like:
 * several blocks, `~~~` fences, a language tag or none, a fence the stream cut off, or no fence at
 * all. Returns undefined when the answer has no code we can trust to replace the user's text with.
 */
export function extractCode(answer: string, languageId?: string): string | undefined {
  const blocks = fencedBlocks(answer);
  if (blocks.length > 0) {
    const wanted = languageId ? aliases(languageId) : [];
    const tagged = blocks.filter((b) => b.lang && wanted.includes(b.lang.toLowerCase()));
    // The longest block is the answer; short ones are usually usage examples or shell commands.
    const pool = tagged.length > 0 ? tagged : blocks.filter((b) => !nonCodeTags.has(b.lang.toLowerCase()));
    const best = (pool.length > 0 ? pool : blocks).reduce((a, b) => (b.code.length > a.code.length ? b : a));
    return best.code.trim().length > 0 ? best.code : undefined;
  }
  const text = answer.trim();
  if (text.length === 0) return undefined;
  // Without fences, only an answer that reads as code as a whole is taken; prose would replace the selection.
  return looksLikeProse(text) ? undefined : text;
}

interface Block {
  lang: string;
  code: string;
}

const nonCodeTags = new Set(['sh', 'bash', 'shell', 'console', 'text', 'output', 'diff']);

function fencedBlocks(answer: string): Block[] {
  const lines = answer.replace(/\r\n/g, '\n').split('\n');
  const blocks: Block[] = [];
  let open: { fence: string; lang: string; body: string[] } | undefined;
  for (const line of lines) {
    if (!open) {
      const m = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)[^`]*$/.exec(line);
      if (m) open = { fence: m[1] as string, lang: m[2] ?? '', body: [] };
      continue;
    }
    const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1]?.[0] === open.fence[0] && (close[1]?.length ?? 0) >= open.fence.length) {
      blocks.push({ lang: open.lang, code: open.body.join('\n') });
      open = undefined;
    } else {
      open.body.push(line);
    }
  }
  // A stream cut short leaves the last fence open; what arrived is still the model's code.
  if (open && open.body.length > 0) blocks.push({ lang: open.lang, code: open.body.join('\n') });
  return blocks;
}

function aliases(languageId: string): string[] {
  const id = languageId.toLowerCase();
  const table: Record<string, string[]> = {
    typescript: ['ts', 'typescript', 'tsx'],
    typescriptreact: ['tsx', 'typescript', 'ts'],
    javascript: ['js', 'javascript', 'jsx', 'mjs'],
    javascriptreact: ['jsx', 'javascript', 'js'],
    python: ['py', 'python', 'python3'],
    shellscript: ['sh', 'bash', 'shell'],
    csharp: ['cs', 'csharp', 'c#'],
    cpp: ['cpp', 'c++', 'cc'],
    rust: ['rs', 'rust'],
    go: ['go', 'golang'],
  };
  return table[id] ?? [id];
}

function looksLikeProse(text: string): boolean {
  const first = text.split('\n')[0] ?? '';
  return /^(here|sure|this|the|i |i'|certainly|below)/i.test(first) && /[.:!]\s*$/.test(first);
}

/**
 * Fits replacement code to where it goes: models drop the selection's indentation and its trailing
 * newline, so both are put back.
 */
export function fitToSelection(code: string, original: string): string {
  const indent = /^[ \t]*/.exec(original.split('\n').find((l) => l.trim().length > 0) ?? '')?.[0] ?? '';
  let lines = code.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  const codeIndent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^[ \t]*/.exec(l)?.[0].length ?? 0));
  if (indent.length > 0 && codeIndent === 0) lines = lines.map((l) => (l.trim() ? indent + l : l));
  const eol = original.includes('\r\n') ? '\r\n' : '\n';
  const out = lines.join(eol);
  return /\r?\n$/.test(original) ? out + eol : out;
}
