import { readFileSync } from 'node:fs';
import type { ConfigSource } from './buildConfig';
import { ConfigError, type ConfigProblem } from './configError';
import { resolveConfigFiles, type ResolveConfigOptions } from './resolveConfigFiles';

/**
 * Reads the config files `resolveConfigFiles` picks, lowest priority first. A missing optional
 * file is skipped; a missing explicit one, or any file that cannot be read, is a ConfigError.
 */
export function readConfigSources(opts: ResolveConfigOptions): ConfigSource[] {
  const resolved = resolveConfigFiles(opts);
  const sources: ConfigSource[] = [];
  const problems: ConfigProblem[] = [];
  for (const c of resolved.candidates) {
    try {
      sources.push({ file: c.path, text: readFileSync(c.path, 'utf8') });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !c.required) continue;
      const message =
        code === 'ENOENT'
          ? `config file not found; it was named ${resolved.source === 'env' ? 'by $HAROMBE_CONFIG' : 'explicitly (--config or a setting)'}, so no other config file is read`
          : `cannot read config file: ${(err as Error).message}`;
      problems.push({ file: c.path, line: 0, column: 0, message, severity: 'error' });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return sources;
}
