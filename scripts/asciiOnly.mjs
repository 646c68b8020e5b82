import { parse, tokTypes as tt } from 'acorn';

/** A non-ASCII UTF-16 code unit, with the run of backslashes right before it. */
const NON_ASCII = /(\\*)([\u0080-\uffff])/g;
/** Any non-ASCII UTF-16 code unit. */
const ANY_NON_ASCII = /[\u0080-\uffff]/;

/** Tokens after which a template literal is tagged (`tag\`…\``, `f()\`…\``): its raw text is a value. */
const ENDS_EXPRESSION = new Set([tt.name, tt.privateId, tt.parenR, tt.bracketR, tt.braceR, tt.backQuote, tt.string, tt.num, tt.regexp, tt._this, tt._super]);

/**
 * `code`, a JavaScript bundle, with every non-ASCII character written as a `\uXXXX` escape.
 *
 * Why: V8 keeps each script's source for as long as the script lives, and one character above
 * U+00FF makes the whole source a two-byte string. esbuild already escapes string literals, but
 * leaves regex literals and raw templates alone, so the classifier's multilingual patterns (and a
 * `°` in a dependency) doubled the CLI's source in memory: 4.65 MB instead of 2.3 for the
 * development build. An escape means the same thing as the character in string literals, regex
 * literals, untagged templates, identifiers and comments, which is where this rewrites; anywhere
 * else it throws, naming the line, instead of changing what the code does: a tagged template's raw
 * text (`String.raw`) keeps the backslash, and whitespace cannot be escaped at all.
 *
 * Source maps still point at the right lines; on a line with escapes, columns after the first one
 * drift by five per character.
 *
 * @param {string} code
 * @param {string} [file] named in errors
 * @returns {string}
 */
export function asciiOnly(code, file = 'bundle') {
  if (!ANY_NON_ASCII.test(code)) return code;
  /** @type {Array<{ start: number, end: number, text: string }>} */
  const spans = [];
  const nonAscii = (/** @type {number} */ start, /** @type {number} */ end) => ANY_NON_ASCII.test(code.slice(start, end));
  const where = (/** @type {number} */ at) => `${file}:${code.slice(0, at).split('\n').length}`;
  /** Between the spans rewritten below there is only punctuation, keywords and whitespace: none of it may be non-ASCII. */
  const assertAsciiBetween = (/** @type {number} */ start, /** @type {number} */ end) => {
    const i = code.slice(start, end).search(ANY_NON_ASCII);
    if (i >= 0) throw new Error(`${where(start + i)}: a non-ASCII character outside any literal, identifier or comment`);
  };
  /** @type {boolean[]} For each template literal open around the current token: whether it is tagged. */
  const templates = [];
  /** @type {import('acorn').Token | undefined} */
  let prev;
  parse(code, {
    ecmaVersion: 'latest',
    sourceType: 'script',
    allowHashBang: true,
    allowReturnOutsideFunction: true,
    onComment: (_block, _text, start, end) => {
      if (nonAscii(start, end)) spans.push({ start, end, text: 'comment' });
    },
    onToken: (token) => {
      if (token.type === tt.backQuote) {
        if (prev?.type === tt.template || prev?.type === tt.invalidTemplate) templates.pop();
        else templates.push(prev !== undefined && ENDS_EXPRESSION.has(prev.type));
      } else if (nonAscii(token.start, token.end)) {
        const template = token.type === tt.template || token.type === tt.invalidTemplate;
        if (template && templates.at(-1)) throw new Error(`${where(token.start)}: non-ASCII text in a tagged template's raw text, which an escape would change; write it as a regex literal's .source or an ordinary string`);
        if (token.type === tt.name && /[\ud800-\udfff]/.test(code.slice(token.start, token.end))) throw new Error(`${where(token.start)}: an identifier outside the Basic Multilingual Plane`);
        spans.push({ start: token.start, end: token.end, text: template || token.type === tt.string ? 'text' : 'code' });
      }
      prev = token;
    },
  });
  spans.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const span of spans) {
    assertAsciiBetween(at, span.start);
    out += code.slice(at, span.start);
    out += code.slice(span.start, span.end).replace(NON_ASCII, (_m, /** @type {string} */ slashes, /** @type {string} */ ch) => {
      // `\é` is an identity escape: the escape replaces it. A backslash before U+2028 or U+2029 in
      // a string continues the line, which no escape can say.
      const escaped = slashes.length % 2 === 1;
      if (escaped && span.text === 'text' && (ch === '\u2028' || ch === '\u2029')) throw new Error(`${where(span.start)}: a line continuation on U+${ch.charCodeAt(0).toString(16)}`);
      return (escaped ? slashes.slice(1) : slashes) + `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    });
    at = span.end;
  }
  assertAsciiBetween(at, code.length);
  return out + code.slice(at);
}
