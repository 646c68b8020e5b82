import type { Command } from 'commander';
import { Coordinator } from '../core/coordinator';
import { ConfigError } from '../core/config/configError';
import { ConfigWatcher } from '../core/config/configWatcher';
import { loadConfig } from '../core/config/loadConfig';
import { FileTrustStore } from '../core/nodes/fileTrustStore';
import type { HarombeConfig } from '../core/config/schema';
import type { Logger } from '../core/util/logger';
import { harombeHome } from './harombeHome';
import { MetricsStore } from './metricsStore';
import { createStderrLogger } from './stderrLogger';

export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

/** Raised by commands to end with a message and an exit code, without a stack trace. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function cliLogger(opts: GlobalOptions): Logger {
  return createStderrLogger(opts.verbose ? 'debug' : 'warn');
}

/** Loads the config the way every command does (--config, $HAROMBE_CONFIG, workspace over user file); config errors end the command with exit 2. */
export function loadCliConfig(opts: GlobalOptions, logger: Logger): { config: HarombeConfig; files: string[] } {
  try {
    const result = loadConfig({ explicitFile: opts.config, env: process.env, cwd: process.cwd(), home: harombeHome() });
    for (const w of result.warnings) logger.warn(`${w.file}:${w.line}:${w.column} ${w.message}`);
    return { config: result.config, files: result.files };
  } catch (err) {
    if (err instanceof ConfigError) throw new CliExit(2, err.format());
    throw err;
  }
}

/** A coordinator for one CLI command, with metrics carried across runs. */
export function openCoordinator(
  opts: GlobalOptions,
  extra: { probeOnInterval?: boolean; browse?: 'config' | 'always'; mdnsInterface?: string; watchConfig?: boolean } = {},
): { coordinator: Coordinator; config: HarombeConfig; files: string[]; close(): void } {
  const logger = cliLogger(opts);
  const { config, files } = loadCliConfig(opts, logger);
  const store = new MetricsStore();
  // `browse: 'always'` (the node commands) browses mDNS even when the config lists its nodes explicitly.
  const effective = extra.browse === 'always' ? { ...config, cluster: { ...config.cluster, discovery: { ...config.cluster.discovery, method: 'mdns' as const } } } : config;
  const trust = extra.browse && { trustStore: new FileTrustStore(harombeHome()), ...(extra.mdnsInterface && { mdns: { interface: extra.mdnsInterface, bind: '0.0.0.0' } }) };
  const coordinator = new Coordinator({ config: effective, logger, metrics: store.load(), probeOnInterval: extra.probeOnInterval, localLoadOnly: process.env.HAROMBE_LOAD_SOURCE === 'local', ...(trust && { discovery: trust }) });
  // Long-running commands follow edits of harombe.yaml; a broken edit is reported and the last good config stays.
  const watcher = extra.watchConfig ? new ConfigWatcher({ explicitFile: opts.config, env: process.env, cwd: process.cwd(), home: harombeHome(), logger }) : undefined;
  watcher?.onDidChange((next) => {
    logger.warn(`config reloaded: ${next.cluster.nodes.length} node(s)`);
    coordinator.applyConfig(next);
  });
  watcher?.onDidError((err) => logger.warn(`config not applied, keeping the last good one:\n${err.format()}`));
  return {
    coordinator,
    config,
    files,
    close: () => {
      watcher?.dispose();
      try {
        store.save(coordinator.metrics.toState());
      } catch (err) {
        logger.warn(`could not save metrics to ${store.file}: ${(err as Error).message}`);
      }
      coordinator.dispose();
    },
  };
}
