import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { plainDeltaText } from '../../../src/core/inference/ollamaRecord';

/** What `JSON.parse` says the fast path must find: the token's text when the line is exactly an ordinary record, else undefined. */
function expected(line: string, generate: boolean): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  const keys = Object.keys(r).join(',');
  if (typeof r.model !== 'string' || typeof r.created_at !== 'string' || r.done !== false) return undefined;
  if (keys === 'model,created_at,message,done') {
    const m = r.message as Record<string, unknown> | null;
    if (typeof m !== 'object' || m === null || Object.keys(m).join(',') !== 'role,content' || m.role !== 'assistant' || typeof m.content !== 'string') return undefined;
    return m.content;
  }
  if (generate && keys === 'model,created_at,response,done' && typeof r.response === 'string') return r.response;
  return undefined;
}

// Strings with what JSON must escape (quotes, backslashes, control characters), multi-byte text and lone surrogates.
const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '/', 'a', 'é', '👋', '\ud800', ' ') }));

/** Model names and timestamps: nothing in them needs escaping. The fast path declines the rare others (the parser reads them). */
const plain = text.filter(needsNoEscape);

function needsNoEscape(s: string): boolean {
  return JSON.stringify(s) === `"${s}"`;
}

const record = fc.record({
  model: text,
  created_at: text,
  content: text,
  done: fc.boolean(),
  shape: fc.constantFrom('chat', 'generate', 'tool_calls', 'thinking', 'extra', 'reordered', 'spaced'),
});

function render(r: { model: string; created_at: string; content: string; done: boolean; shape: string }): string {
  const head = { model: r.model, created_at: r.created_at };
  switch (r.shape) {
    case 'generate':
      return JSON.stringify({ ...head, response: r.content, done: r.done });
    case 'tool_calls':
      return JSON.stringify({ ...head, message: { role: 'assistant', content: r.content, tool_calls: [{ function: { name: 'f', arguments: {} } }] }, done: r.done });
    case 'thinking':
      return JSON.stringify({ ...head, message: { role: 'assistant', content: r.content, thinking: 'hm' }, done: r.done });
    case 'extra':
      return JSON.stringify({ ...head, message: { role: 'assistant', content: r.content }, done: r.done, done_reason: 'stop' });
    case 'reordered':
      return JSON.stringify({ created_at: r.created_at, model: r.model, message: { role: 'assistant', content: r.content }, done: r.done });
    case 'spaced':
      return JSON.stringify({ ...head, message: { role: 'assistant', content: r.content }, done: r.done }, null, 1);
    default:
      return JSON.stringify({ ...head, message: { role: 'assistant', content: r.content }, done: r.done });
  }
}

describe('plainDeltaText (the fast path for ordinary Ollama records)', () => {
  it('finds the text of every record Ollama writes for a token, escapes and all', () => {
    fc.assert(
      fc.property(plain, plain, text, (model, createdAt, content) => {
        const line = JSON.stringify({ model, created_at: createdAt, message: { role: 'assistant', content }, done: false });
        assert.equal(plainDeltaText(line, false), content);
        assert.equal(plainDeltaText(JSON.stringify({ model, created_at: createdAt, response: content, done: false }), true), content);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with JSON.parse on records of every shape: anything but a plain token is left to the parser', () => {
    fc.assert(
      fc.property(record, fc.boolean(), (r, generate) => {
        const line = render(r);
        const got = plainDeltaText(line, generate);
        // Declining is always safe (the parser takes the line); what Ollama writes must not be declined.
        const ollamaWrites = (r.shape === 'chat' || r.shape === 'generate') && needsNoEscape(r.model) && needsNoEscape(r.created_at);
        if (got !== undefined || ollamaWrites) assert.equal(got, expected(line, generate));
      }),
      { numRuns: 5000 },
    );
  });

  it('never accepts a line JSON.parse reads otherwise (or not at all), whatever is cut or changed in it', () => {
    const base = JSON.stringify({ model: 'llama3.2', created_at: '2026-11-23T10:00:00.000Z', message: { role: 'assistant', content: 'a "quoted" \\ token\n' }, done: false });
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.nat(base.length), fc.constantFrom('', '"', '\\', '}', '{', 'x', '\u0001', ' ', '\\u12', '\\q'), (at, len, insert) => {
        const line = base.slice(0, at) + insert + base.slice(Math.min(base.length, at + (len % 4)));
        const got = plainDeltaText(line, true);
        if (got !== undefined) assert.equal(got, expected(line, true), line);
      }),
      { numRuns: 5000 },
    );
  });

  it('leaves the final record, errors and tool calls to the parser', () => {
    assert.equal(plainDeltaText('{"model":"m","created_at":"t","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}', true), undefined);
    assert.equal(plainDeltaText('{"error":"model crashed"}', true), undefined);
    assert.equal(plainDeltaText('{"model":"m","created_at":"t","message":{"role":"assistant","content":"","tool_calls":[]},"done":false}', true), undefined);
  });
});
