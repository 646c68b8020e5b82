/**
 * Writes a streamed answer so that a fallback never leaves a duplicated or broken answer behind.
 * On a terminal it streams and, when the answer restarts on another node, erases what it printed
 * (cursor up + clear). Into a pipe or file it cannot take text back, so it holds the answer and
 * writes it once complete; programs that want the stream use `--json`.
 */
export class AnswerWriter {
  private printed = '';
  private held = '';
  private readonly tty: boolean;

  constructor(private readonly out: NodeJS.WriteStream) {
    this.tty = out.isTTY === true;
  }

  write(text: string): void {
    if (this.tty) {
      this.out.write(text);
      this.printed += text;
    } else {
      this.held += text;
    }
  }

  discard(): void {
    if (this.tty && this.printed) {
      const rows = rowsUsed(this.printed, this.out.columns || 80);
      // Back to the start of the first line of the answer, then clear to the end of the screen.
      this.out.write(rows > 1 ? `\r\x1b[${rows - 1}A\x1b[0J` : '\r\x1b[0J');
    }
    this.printed = '';
    this.held = '';
  }

  finish(): void {
    if (this.tty) {
      if (this.printed && !this.printed.endsWith('\n')) this.out.write('\n');
    } else if (this.held) {
      this.out.write(this.held.endsWith('\n') ? this.held : this.held + '\n');
    }
    this.printed = '';
    this.held = '';
  }
}

function rowsUsed(text: string, columns: number): number {
  let rows = 0;
  for (const line of text.split('\n')) rows += Math.max(1, Math.ceil(line.length / columns));
  return rows;
}
