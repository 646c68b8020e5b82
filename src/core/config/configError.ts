/**
 * One thing wrong (or suspicious) in the config, pinned to where it is. `line` and `column` are
 * 1-based; both are 0 when the problem has no place in a file (a missing file, a value that came
 * from VS Code settings), so a UI can tell "open the file here" from "open the file".
 */
export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  message: string;
  severity: 'error' | 'warning';
  /** The config path the problem is about (`cluster.nodes[1].tier`), when there is one; lets the VS Code layer map a settings value back to its setting. */
  path?: string;
}

/** `file:line:col message`, the shape terminals and VS Code's problem matchers turn into links. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : `${p.file}:`;
  return `${where} ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

/**
 * The config cannot be used. It carries every problem found in one pass (errors, and the warnings
 * seen on the way) so the user fixes them all at once instead of one per run.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    const errors = problems.filter((p) => p.severity === 'error');
    const first = errors[0] ?? problems[0];
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    super(first ? `${formatProblem(first)}${more}` : 'invalid Harombe config', options);
    this.problems = problems;
  }

  /** The errors only, without the warnings collected alongside. */
  get errors(): ConfigProblem[] {
    return this.problems.filter((p) => p.severity === 'error');
  }

  /** One `file:line:col message` line per problem, errors first. */
  format(): string {
    const ordered = [...this.errors, ...this.problems.filter((p) => p.severity === 'warning')];
    return ordered.map(formatProblem).join('\n');
  }
}
