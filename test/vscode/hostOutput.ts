/**
 * The smoke-test driver's codeAutomationLog carries the workbench's console (GitHub sign-in and
 * marketplace noise, dozens of lines per run) mixed with the extension host's, and its type argument
 * does not tell them apart. The integration tests' entry marks every line it prints, so the runner
 * can show mocha's output alone and keep the rest in a log file.
 */
const marker = '\u2063[host] ';

export const hostOutput = {
  /** In the extension host: route console.* through mark() for the duration of the test run. */
  mark(line: string): string {
    return marker + line;
  },
  /** In the runner: the line without its mark, or undefined when the workbench printed it. */
  unmark(line: string): string | undefined {
    return line.startsWith(marker) ? line.slice(marker.length) : undefined;
  },
};
