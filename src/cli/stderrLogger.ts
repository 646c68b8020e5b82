import type { Logger } from '../core/util/logger';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/** The CLI's logger: stderr, so stdout stays clean for answers and JSON. Quiet (warnings up) unless --verbose. */
export function createStderrLogger(minLevel: Level = 'warn', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = LEVELS.indexOf(minLevel);
  const at = (level: Level) => (message: string | Error, ...args: unknown[]) => {
    if (LEVELS.indexOf(level) < min) return;
    const text = message instanceof Error ? message.message : message;
    write(`[${level}] ${text}${args.length ? ' ' + args.map((a) => (a instanceof Error ? a.message : JSON.stringify(a))).join(' ') : ''}`);
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
