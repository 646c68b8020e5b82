import { NodeError } from './nodeError';

/** Longest line accepted when the endpoint sets no limit: far above any real record, far below a runaway. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines (NDJSON records, SSE fields), without the `\n` and without a
 * `\r` before it. Blank lines are yielded too, since they end SSE events.
 *
 * Splitting happens on bytes and only whole lines are decoded: `\n` never occurs inside a UTF-8
 * multi-byte sequence, so a character split across two network chunks is decoded intact. A line
 * longer than `maxLineBytes` is a `NodeError('oversized')` as soon as it is known to be too long,
 * so a runaway line is never buffered whole. An unterminated last line is yielded as it is.
 */
export async function* lineStream(
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<string> {
  // Pieces of a line that spans chunks; most lines fit in one chunk and never touch this.
  const pending: Buffer[] = [];
  let pendingBytes = 0;

  for await (const chunk of chunks) {
    let start = 0;
    let lf = chunk.indexOf(LF, start);
    while (lf !== -1) {
      const length = pendingBytes + (lf - start);
      if (length > maxLineBytes) throw oversized(maxLineBytes);
      let line: string;
      if (pendingBytes === 0) {
        const end = lf > start && chunk[lf - 1] === CR ? lf - 1 : lf;
        line = chunk.toString('utf8', start, end);
      } else {
        pending.push(chunk.subarray(start, lf));
        const whole = Buffer.concat(pending, length);
        pending.length = 0;
        pendingBytes = 0;
        const end = whole.length > 0 && whole[whole.length - 1] === CR ? whole.length - 1 : whole.length;
        line = whole.toString('utf8', 0, end);
      }
      yield line;
      start = lf + 1;
      lf = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLineBytes) throw oversized(maxLineBytes);
      pending.push(start === 0 ? chunk : chunk.subarray(start));
    }
  }

  if (pendingBytes > 0) {
    const whole = Buffer.concat(pending, pendingBytes);
    const end = whole[whole.length - 1] === CR ? whole.length - 1 : whole.length;
    yield whole.toString('utf8', 0, end);
  }
}

function oversized(limit: number): NodeError {
  return new NodeError('oversized', `the node sent a line longer than ${limit} bytes`);
}
