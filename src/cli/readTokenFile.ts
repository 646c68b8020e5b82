import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../core/util/logger';

/** The token in `--token-file`, checked; `fail` gets a message naming the file and never the token. */
export function readTokenFile(tokenFile: string, logger: Logger, fail: (m: string) => never): string {
  let text: string;
  try {
    text = readFileSync(tokenFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return fail(`--token-file ${tokenFile}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  const token = text.trim();
  if (!token) return fail(`--token-file ${tokenFile}: the file is empty`);
  if (/\s/.test(token)) return fail(`--token-file ${tokenFile}: the token must be one line without spaces`);
  try {
    if (process.platform !== 'win32' && (statSync(tokenFile).mode & 0o077) !== 0) {
      logger.warn(`token file ${tokenFile} can be read by other users; chmod 600 it`);
    }
  } catch {
    // Only a hint; the file was readable a moment ago.
  }
  return token;
}
