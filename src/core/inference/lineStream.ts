import { DEFAULT_MAX_LINE_BYTES, LineFramer } from './lineFramer';

/**
 * Splits a byte stream into lines (NDJSON records, SSE fields), without the `\n` and without a
 * `\r` before it. Blank lines are yielded too, since they end SSE events. Only whole lines are
 * decoded (see `LineFramer`); a line longer than `maxLineBytes` is a `NodeError('oversized')`
 * after the lines before it; an unterminated last line is yielded as it is.
 */
export async function* lineStream(
  chunks: AsyncIterable<Buffer>,
  maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<string> {
  const framer = new LineFramer(maxLineBytes);
  const lines: string[] = [];
  const visit = (buf: Buffer, start: number, end: number) => lines.push(buf.toString('utf8', start, end));
  for await (const chunk of chunks) {
    let failure: unknown;
    try {
      framer.push(chunk, visit);
    } catch (err) {
      failure = err;
    }
    for (const line of lines) yield line;
    lines.length = 0;
    if (failure !== undefined) throw failure;
  }
  const rest = framer.rest();
  if (rest !== undefined) yield rest;
}
