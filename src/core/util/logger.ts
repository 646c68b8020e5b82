/**
 * The logger core writes to. VS Code's `LogOutputChannel` satisfies it, so the extension passes its
 * channel straight in; the CLI passes a stderr logger. Messages must never contain secrets: callers
 * pass tokens through `maskSecrets` first.
 */
export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

/** A logger that drops everything, for tests and for silent CLI commands. */
export const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
