import { buildConfig, type ConfigOverrides, type LoadConfigResult } from './buildConfig';
import { readConfigSources } from './readConfigSources';
import type { ResolveConfigOptions } from './resolveConfigFiles';

export interface LoadConfigOptions extends ResolveConfigOptions {
  /** VS Code settings and the like: applied last, but only where no YAML file sets the key. */
  overrides?: ConfigOverrides;
  /** What problems in `overrides` name as their file; default `settings`. */
  overridesLabel?: string;
}

/**
 * Finds, reads, merges and validates the config files (see `resolveConfigFiles`). No file at all
 * gives the defaults with an empty cluster. Throws ConfigError, naming file, line and column, when
 * the config cannot be used.
 */
export function loadConfig(opts: LoadConfigOptions): LoadConfigResult {
  return buildConfig(readConfigSources(opts), { env: opts.env, overrides: opts.overrides, overridesLabel: opts.overridesLabel });
}
