import { strict as assert } from 'node:assert';
import { StreamSplicer } from '../../../src/core/gateway/streamSplicer';

const emitted = (s: StreamSplicer, pieces: string[]) => pieces.map((p) => s.text(p));

describe('StreamSplicer', () => {
  it('passes text through until a fallback', () => {
    const s = new StreamSplicer();
    assert.deepEqual(emitted(s, ['a', 'b']), [
      { kind: 'emit', text: 'a' },
      { kind: 'emit', text: 'b' },
    ]);
    assert.ok(s.complete());
  });

  it('after a fallback, swallows what the client has and emits from the first new character, whatever the chunking', () => {
    const s = new StreamSplicer();
    emitted(s, ['Hel', 'lo w']);
    s.fallback(true);
    assert.deepEqual(emitted(s, ['H', 'ello', ' world', '!']), [{ kind: 'skip' }, { kind: 'skip' }, { kind: 'emit', text: 'orld' }, { kind: 'emit', text: '!' }]);
    assert.ok(s.complete());
  });

  it('reports divergence, and a new answer shorter than what was sent', () => {
    const a = new StreamSplicer();
    emitted(a, ['Hello']);
    a.fallback(true);
    assert.deepEqual(a.text('Help'), { kind: 'diverged' });

    const b = new StreamSplicer();
    emitted(b, ['Hello there']);
    b.fallback(true);
    assert.deepEqual(b.text('Hello'), { kind: 'skip' });
    assert.equal(b.complete(), false);
  });

  it('handles two fallbacks in a row and a fallback before any output', () => {
    const s = new StreamSplicer();
    s.fallback(true);
    assert.deepEqual(s.text('ab'), { kind: 'emit', text: 'ab' });
    s.fallback(true);
    assert.deepEqual(s.text('a'), { kind: 'skip' });
    s.fallback(true);
    assert.deepEqual(s.text('abc'), { kind: 'emit', text: 'c' });
    assert.ok(s.complete());
  });

  it('skips tool calls the new node repeats and refuses different ones', () => {
    const call = { id: 'x', name: 'read_file', arguments: { path: 'a' } };
    const s = new StreamSplicer();
    assert.equal(s.toolCalls([call]).kind, 'emit');
    s.fallback(true);
    assert.equal(s.complete(), false);
    assert.equal(s.toolCalls([{ ...call, id: 'y' }]).kind, 'skip');
    assert.ok(s.complete());
    s.fallback(true);
    assert.equal(s.toolCalls([{ ...call, arguments: { path: 'b' } }]).kind, 'diverged');
  });
});
