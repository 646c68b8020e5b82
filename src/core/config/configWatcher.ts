import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Emitter, type Disposable } from '../util/emitter';
import { silentLogger, type Logger } from '../util/logger';
import { buildConfig, type ConfigOverrides, type ConfigSource, type LoadConfigResult } from './buildConfig';
import { ConfigError } from './configError';
import type { LoadConfigOptions } from './loadConfig';
import { readConfigSources } from './readConfigSources';
import { resolveConfigFiles } from './resolveConfigFiles';
import type { HarombeConfig } from './schema';

export interface ConfigWatcherOptions extends LoadConfigOptions {
  /** Quiet time after the last file event before reloading; editors write in bursts. Default 100 ms. */
  debounceMs?: number;
  /** How often to look at the files even without an event, ms. Default 2000. */
  pollMs?: number;
  logger?: Logger;
}

interface DirWatch {
  watcher: FSWatcher;
  /** Entries of the directory whose change matters: a config file, or the next folder on the way to one. */
  names: Set<string>;
}

/**
 * Keeps the config current while the user edits it. It watches the folders of the config files
 * (not the files: editors save by writing a new file and renaming it over the old one, which
 * orphans a watch on the file itself), and the nearest existing folder on the way to a file that
 * does not exist yet, so a `.harombe/harombe.yaml` created later is picked up.
 *
 * A broken edit fires `onDidError` and leaves `current` at the last good config, so a typo never
 * takes the cluster away; fixing it fires `onDidChange`. Nothing here keeps the process alive.
 */
export class ConfigWatcher implements Disposable {
  private readonly _onDidChange = new Emitter<HarombeConfig>();
  /** A changed config loaded successfully (also fired when a broken config is fixed). */
  readonly onDidChange = this._onDidChange.event;
  private readonly _onDidError = new Emitter<ConfigError>();
  /** The files changed and the result cannot be used; `current` keeps the last good config. */
  readonly onDidError = this._onDidError.event;

  private readonly opts: ConfigWatcherOptions;
  private readonly logger: Logger;
  private readonly files: string[];
  private readonly dirs = new Map<string, DirWatch>();
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private lastSignature: string | undefined;
  private _result: LoadConfigResult | undefined;
  private _error: ConfigError | undefined;
  private disposed = false;

  /** Loads the config once, synchronously (see `current` and `error`), then watches. */
  constructor(opts: ConfigWatcherOptions) {
    this.opts = { ...opts };
    this.logger = opts.logger ?? silentLogger;
    this.files = resolveConfigFiles(opts).candidates.map((c) => c.path);
    this.load(false);
    this.arm();
    // A safety net under fs.watch, which can miss a file written while a new folder's watch is
    // being set up (and misses everything on some network file systems): two small reads every
    // few seconds; an unchanged signature fires nothing.
    this.poll = setInterval(() => this.schedule(), opts.pollMs ?? 2000);
    this.poll.unref();
  }

  /** The last config that loaded successfully; undefined only if none ever did. */
  get current(): HarombeConfig | undefined {
    return this._result?.config;
  }

  /** The last successful load, with its warnings and the files it read. */
  get result(): LoadConfigResult | undefined {
    return this._result;
  }

  /** Why the files as they are now cannot be used; undefined when `current` reflects them. */
  get error(): ConfigError | undefined {
    return this._error;
  }

  /** The paths watched, existing or not, lowest priority first. */
  get watchedFiles(): readonly string[] {
    return this.files;
  }

  /** Replaces the settings layer (it only fills in what the files leave unset) and reloads now. */
  setOverrides(overrides: ConfigOverrides | undefined): void {
    this.opts.overrides = overrides;
    this.reload();
  }

  /** Reloads now instead of waiting for a file event; fires an event only if something changed. */
  reload(): void {
    if (this.disposed) return;
    this.load(true);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    for (const d of this.dirs.values()) d.watcher.close();
    this.dirs.clear();
    this._onDidChange.dispose();
    this._onDidError.dispose();
  }

  private load(fire: boolean): void {
    let sources: ConfigSource[] | undefined;
    let readError: ConfigError | undefined;
    try {
      sources = readConfigSources(this.opts);
    } catch (err) {
      readError = asConfigError(err, this.files);
    }
    // Editors and `touch` fire events without changing a byte; only a real change is news.
    const signature = JSON.stringify([sources ?? readError?.message, this.opts.overrides ?? null]);
    if (fire && signature === this.lastSignature) {
      this.logger.trace('config files read again, unchanged: nothing to report');
      return;
    }
    this.lastSignature = signature;

    try {
      if (readError) throw readError;
      const result = buildConfig(sources ?? [], { env: this.opts.env, overrides: this.opts.overrides, overridesLabel: this.opts.overridesLabel });
      this._result = result;
      this._error = undefined;
      this.logger.info(`config loaded from ${result.files.length ? result.files.join(', ') : 'defaults'}`);
      if (fire) this._onDidChange.fire(result.config);
    } catch (err) {
      // Runs from a timer: anything thrown here would be an uncaught exception in the extension host.
      const error = asConfigError(err, this.files);
      this._error = error;
      this.logger.warn(`config not reloaded, keeping the last good one: ${error.message}`);
      if (fire) this._onDidError.fire(error);
    }
  }

  private schedule(): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.disposed) return;
      this.arm();
      this.load(true);
    }, this.opts.debounceMs ?? 100);
    this.timer.unref();
  }

  /** (Re)computes which folders to watch: folders appear and disappear as the user works. */
  private arm(): void {
    const wanted = new Map<string, Set<string>>();
    for (const file of this.files) {
      const { dir, name } = nearestExisting(file);
      const names = wanted.get(dir) ?? new Set<string>();
      names.add(name);
      wanted.set(dir, names);
    }
    for (const [dir, d] of this.dirs) {
      if (!wanted.has(dir) || !isDirectory(dir)) {
        d.watcher.close();
        this.dirs.delete(dir);
      }
    }
    for (const [dir, names] of wanted) {
      const existing = this.dirs.get(dir);
      if (existing) {
        existing.names = names;
        continue;
      }
      try {
        const watcher = watch(dir, { persistent: false }, (_event, filename) => {
          const entry = this.dirs.get(dir);
          // Some platforms omit the name; then any change might be ours.
          if (!filename || entry?.names.has(filename.toString())) this.schedule();
        });
        watcher.on('error', () => {
          // Typically the folder itself was removed: drop the watch and look again from its parent.
          watcher.close();
          if (this.dirs.get(dir)?.watcher === watcher) this.dirs.delete(dir);
          this.schedule();
        });
        this.dirs.set(dir, { watcher, names });
      } catch (err) {
        this.logger.warn(`cannot watch ${dir} for config changes: ${(err as Error).message}`);
      }
    }
  }
}

/** The nearest folder that exists on the way to `file`, and the entry in it that leads to `file`. */
function nearestExisting(file: string): { dir: string; name: string } {
  let dir = dirname(file);
  let name = basename(file);
  while (!isDirectory(dir)) {
    const parent = dirname(dir);
    if (parent === dir) break;
    name = basename(dir);
    dir = parent;
  }
  return { dir, name };
}

function asConfigError(err: unknown, files: readonly string[]): ConfigError {
  if (err instanceof ConfigError) return err;
  const message = `cannot load the config: ${err instanceof Error ? err.message : String(err)}`;
  return new ConfigError([{ file: files[files.length - 1] ?? 'config', line: 0, column: 0, message, severity: 'error' }], { cause: err });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
