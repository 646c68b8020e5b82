import { homedir } from 'node:os';
import { join } from 'node:path';

/** `~/.harombe`, or `$HAROMBE_HOME` (tests and people who keep dotfiles elsewhere). */
export function harombeHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HAROMBE_HOME || join(homedir(), '.harombe');
}
