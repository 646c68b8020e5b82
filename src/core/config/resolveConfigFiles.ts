import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ResolveConfigOptions {
  /** A file named by the user (`--config FILE`, or a setting); relative paths are taken from `cwd`. */
  explicitFile?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** The workspace folder, or the terminal's working directory. */
  cwd: string;
  /**
   * Harombe's home directory: `~/.harombe`, or `$HAROMBE_HOME` (see `src/cli/harombeHome.ts`).
   * Not the OS home: the user file is `<home>/harombe.yaml`.
   */
  home: string;
  /**
   * False in an untrusted workspace: its `.harombe/harombe.yaml` is then not read at all, since
   * it could point the nodes (and `${env:…}` tokens) at any host. Default true.
   */
  trustWorkspace?: boolean;
}

export interface ConfigFileCandidate {
  path: string;
  /** Named explicitly, so its absence is an error rather than "nothing set here". */
  required: boolean;
  exists: boolean;
}

export interface ResolvedConfigFiles {
  /** How the files were chosen: `--config`/setting, `$HAROMBE_CONFIG`, or the user + workspace pair. */
  source: 'explicit' | 'env' | 'default';
  /** Every file that counts whether or not it exists yet, lowest priority first: what a watcher watches. */
  candidates: ConfigFileCandidate[];
  /** The candidates that exist, lowest priority first: what to load. */
  files: string[];
}

/** Name of the config file inside `~/.harombe` and inside a workspace's `.harombe` folder. */
export const configFileName = 'harombe.yaml';

/**
 * Which files make up the config. An explicit file (or `$HAROMBE_CONFIG`) is the whole config;
 * otherwise the workspace's `.harombe/harombe.yaml` is merged over the user's
 * `~/.harombe/harombe.yaml`, either or both of which may be missing.
 */
export function resolveConfigFiles(opts: ResolveConfigOptions): ResolvedConfigFiles {
  const candidate = (path: string, required: boolean): ConfigFileCandidate => ({ path, required, exists: existsSync(path) });
  let source: ResolvedConfigFiles['source'];
  let candidates: ConfigFileCandidate[];
  if (opts.explicitFile) {
    source = 'explicit';
    candidates = [candidate(resolve(opts.cwd, opts.explicitFile), true)];
  } else if (opts.env.HAROMBE_CONFIG) {
    source = 'env';
    candidates = [candidate(resolve(opts.cwd, opts.env.HAROMBE_CONFIG), true)];
  } else {
    source = 'default';
    const user = resolve(opts.home, configFileName);
    const workspace = resolve(opts.cwd, join('.harombe', configFileName));
    // Run from the home folder itself, both names are one file; read it once.
    const withWorkspace = opts.trustWorkspace !== false && workspace !== user;
    candidates = withWorkspace ? [candidate(user, false), candidate(workspace, false)] : [candidate(user, false)];
  }
  return { source, candidates, files: candidates.filter((c) => c.exists).map((c) => c.path) };
}
