import { strict as assert } from 'node:assert';
import { lineStream } from '../../../src/core/inference/lineStream';
import { NodeError } from '../../../src/core/inference/nodeError';
import { sseStream } from '../../../src/core/inference/sseStream';

async function* chunksOf(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('lineStream', () => {
  it('splits lines within and across chunks, keeps blank lines, strips CR before LF', async () => {
    const lines = await all(lineStream(chunksOf('a\nbb', 'b\r\n\nc', 'c', 'c\n')));
    assert.deepEqual(lines, ['a', 'bbb', '', 'ccc']);
  });

  it('decodes a multi-byte character split between chunks, byte by byte', async () => {
    const bytes = Buffer.from('Grüße 👋 日本\n');
    const parts = [...bytes].map((b) => Buffer.from([b]));
    assert.deepEqual(await all(lineStream(chunksOf(...parts))), ['Grüße 👋 日本']);
  });

  it('yields an unterminated last line as it is', async () => {
    assert.deepEqual(await all(lineStream(chunksOf('x\ny'))), ['x', 'y']);
  });

  it('accepts a line of exactly the limit, and fails one byte over it, even when it spans chunks', async () => {
    assert.deepEqual(await all(lineStream(chunksOf('12345\n'), 5)), ['12345']);
    await assert.rejects(all(lineStream(chunksOf('123', '456\n'), 5)), (err: unknown) => err instanceof NodeError && err.kind === 'oversized');
  });

  it('fails a runaway line before it ends, without buffering it whole', async () => {
    let produced = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        produced++;
        yield Buffer.alloc(1024, 0x61);
      }
    }
    await assert.rejects(all(lineStream(endless(), 10 * 1024)), (err: unknown) => err instanceof NodeError && err.kind === 'oversized');
    assert.equal(produced, 11);
  });
});

describe('sseStream', () => {
  it('yields the data of each event, joining multi-line data and skipping comments and other fields', async () => {
    const lines = [': comment', 'event: message', 'id: 7', 'data: {"a":', 'data:1}', '', 'retry: 10', '', 'data: [DONE]', ''];
    assert.deepEqual(await all(sseStream(chunksLines(lines))), ['{"a":\n1}', '[DONE]']);
  });

  it('drops an event the stream cuts off before its blank line', async () => {
    assert.deepEqual(await all(sseStream(chunksLines(['data: one', '', 'data: two']))), ['one']);
  });

  it('does not mistake other fields that start with "data" for data', async () => {
    assert.deepEqual(await all(sseStream(chunksLines(['database: x', 'data', '']))), ['']);
  });
});

async function* chunksLines(lines: string[]): AsyncGenerator<string> {
  for (const l of lines) yield l;
}
