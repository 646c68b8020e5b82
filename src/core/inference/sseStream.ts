/**
 * Turns the lines of a `text/event-stream` into the `data` of each event (multi-line data joined
 * with `\n`, as the SSE spec says). Chat completions only use `data`, so `event`, `id`, `retry`
 * and comments are skipped. An event the stream cuts off before its blank line is dropped, as the
 * spec requires; the caller then notices the missing `[DONE]`.
 */
export async function* sseStream(lines: AsyncIterable<string>): AsyncGenerator<string> {
  let data: string | undefined;
  for await (const line of lines) {
    if (line.length === 0) {
      if (data !== undefined) {
        yield data;
        data = undefined;
      }
      continue;
    }
    if (!line.startsWith('data')) continue;
    let value: string;
    if (line.length === 4) value = '';
    else if (line.charCodeAt(4) !== 0x3a /* : */) continue; // a field like `database:`, not `data`
    else value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
}
