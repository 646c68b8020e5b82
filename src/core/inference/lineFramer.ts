import { NodeError } from './nodeError';

/** Longest line accepted when the endpoint sets no limit: far above any real record, far below a runaway. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/** Called once per complete line: its bytes are `buf[start, end)`, without the `\n` and a `\r` before it. */
export type LineVisitor = (buf: Buffer, start: number, end: number) => void;

/**
 * Cuts a byte stream into lines (NDJSON records, SSE fields) without decoding anything: the
 * caller decides which lines are worth a string. Splitting happens on bytes, and `\n` never occurs
 * inside a UTF-8 multi-byte sequence, so a character split across two network chunks stays whole.
 * A line longer than `maxLineBytes` is a `NodeError('oversized')` as soon as it is known to be too
 * long, so a runaway line is never buffered whole.
 *
 * `push` also hands back the bytes of the lines that ended in the chunk, newlines included, so a
 * relay can forward whole records as the node sent them; that is a view of the chunk (no copy)
 * unless a line began in an earlier chunk.
 */
export class LineFramer {
  // Pieces of a line that spans chunks; most lines fit in one chunk and never touch this.
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {}

  /** Feeds one chunk; visits the lines that ended in it and returns their bytes, or undefined when none did. */
  push(chunk: Buffer, visit: LineVisitor): Buffer | undefined {
    const lastLf = chunk.lastIndexOf(LF);
    if (lastLf === -1) {
      this.keep(chunk);
      return undefined;
    }
    let region = chunk.subarray(0, lastLf + 1);
    if (this.pendingBytes > 0) {
      this.pending.push(region);
      region = Buffer.concat(this.pending, this.pendingBytes + region.length);
      this.pending.length = 0;
      this.pendingBytes = 0;
    }
    let start = 0;
    let lf = region.indexOf(LF);
    while (lf !== -1) {
      if (lf - start > this.maxLineBytes) throw oversized(this.maxLineBytes);
      visit(region, start, lf > start && region[lf - 1] === CR ? lf - 1 : lf);
      start = lf + 1;
      lf = region.indexOf(LF, start);
    }
    if (lastLf + 1 < chunk.length) this.keep(chunk.subarray(lastLf + 1));
    return region;
  }

  /** The unterminated last line at the end of the stream (without a trailing `\r`), if any. */
  rest(): string | undefined {
    if (this.pendingBytes === 0) return undefined;
    const whole = Buffer.concat(this.pending, this.pendingBytes);
    this.pending.length = 0;
    this.pendingBytes = 0;
    const end = whole[whole.length - 1] === CR ? whole.length - 1 : whole.length;
    return whole.toString('utf8', 0, end);
  }

  private keep(piece: Buffer): void {
    this.pendingBytes += piece.length;
    if (this.pendingBytes > this.maxLineBytes) throw oversized(this.maxLineBytes);
    this.pending.push(piece);
  }
}

function oversized(limit: number): NodeError {
  return new NodeError('oversized', `the node sent a line longer than ${limit} bytes`);
}
