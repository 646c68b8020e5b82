import { keepServing } from './keepServing';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { version } from '../../package.json';
import { ConfigError } from '../core/config/configError';
import { loadConfig } from '../core/config/loadConfig';
import type { HarombeConfig } from '../core/config/schema';
import type { Logger } from '../core/util/logger';
import { MdnsAnnouncer } from '../node/mdnsAnnouncer';
import { WorkerKey } from '../node/workerKey';
import { WorkerServer } from '../node/workerServer';
import { harombeHome } from './harombeHome';
import { readTokenFile } from './readTokenFile';
import { createStderrLogger } from './stderrLogger';

interface StartFlags {
  host?: string;
  port?: number;
  model?: string;
  tier?: number;
  ollama?: string;
  tokenFile?: string;
  maxParallel?: number;
  maxQueue?: number;
  queueWait?: number;
  name?: string;
  mdnsInterface?: string;
  allowManagement?: boolean;
  /** commander's `--no-mdns`: false when given. */
  mdns: boolean;
}

interface GlobalFlags {
  config?: string;
  verbose?: boolean;
}

const DEFAULT_MAX_PARALLEL = 4;
const DEFAULT_WORKER_PORT = 8000;

/** `harombe start`: run this machine as a worker node of a cluster. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description("Run this machine as a worker node: serve its Ollama to the cluster (/health, /api/*, /v1/*, /api/complete) and announce it on the LAN")
    .option('--host <address>', 'address to listen on (default: server.host, else 127.0.0.1; use 0.0.0.0 to serve the LAN)', nonEmpty('--host'))
    .option('--port <port>', `port to listen on (default: server.port, else ${DEFAULT_WORKER_PORT}; 0 picks a free one)`, parsePort)
    .option('--model <name>', 'model this node serves (default: model.name)', nonEmpty('--model'))
    .option('--tier <tier>', 'tier this node announces: 0 fast, 1 balanced, 2 powerful (default: 0)', parseTier)
    .option('--ollama <url>', 'URL of the Ollama to serve (default: ollama.host, else http://localhost:11434)', nonEmpty('--ollama'))
    .option('--token-file <file>', 'file holding the bearer token clients must send (else $HAROMBE_AUTH_TOKEN, else server.auth_token)', nonEmpty('--token-file'))
    .option('--max-parallel <n>', `inference requests this node serves at once, from all clients; match OLLAMA_NUM_PARALLEL (default: ${DEFAULT_MAX_PARALLEL})`, parsePositiveInt)
    .option('--max-queue <n>', 'inference requests that may wait for a turn; more are turned away with 503 and Retry-After (default: --max-parallel)', parseNonNegativeInt)
    .option('--queue-wait <seconds>', 'longest a request waits for a turn before a 503 (default: 30)', parsePositiveInt)
    .option('--name <name>', 'name to announce on the LAN (default: the host name, with the port when it is not 8000)', nonEmpty('--name'))
    .option('--mdns-interface <address>', 'IPv4 address of the one interface to announce on (default: all)', nonEmpty('--mdns-interface'))
    .option('--no-mdns', 'do not announce this node on the LAN')
    .option('--allow-management', "let token holders use Ollama's management routes (pull, delete, create, push, copy, blobs); off by default")
    .action(async (flags: StartFlags, cmd: Command) => {
      await runStart(flags, cmd);
    });
}

async function runStart(flags: StartFlags, cmd: Command): Promise<void> {
  const globals = cmd.optsWithGlobals<GlobalFlags & StartFlags>();
  const logger = createStderrLogger(globals.verbose ? 'debug' : 'info');
  keepServing(logger);
  // Errors from here on are not about usage: the help text would only bury them.
  const fail = (message: string, exitCode = 2): never => {
    cmd.showHelpAfterError(false);
    cmd.error(`harombe start: ${message}`, { exitCode, code: 'harombe.start' });
    throw new Error(message); // cmd.error never returns; this line satisfies the type checker.
  };

  // Everything is resolved and checked before anything listens, so a mistake starts nothing.
  const config = readConfig(globals.config, logger, fail);
  const ollamaUrl = normalizeOllamaUrl(flags.ollama ?? config.ollama.host, flags.ollama ? '--ollama' : 'ollama.host', fail);
  const auth = resolveToken(flags.tokenFile, config, logger, fail);
  const host = flags.host ?? config.server.host;
  const port = flags.port ?? config.server.port;
  const model = flags.model ?? config.model.name;
  const tier = flags.tier ?? 0;
  const maxParallel = flags.maxParallel ?? DEFAULT_MAX_PARALLEL;
  const nodeId = nodeIdFor(harombeHome(), logger);
  let key: WorkerKey;
  try {
    key = WorkerKey.loadOrCreate(harombeHome(), logger);
  } catch (err) {
    return fail((err as Error).message, 1);
  }

  let worker: WorkerServer;
  try {
    worker = await WorkerServer.start({
      host,
      port,
      ollamaUrl,
      token: auth?.token,
      model,
      tier,
      version,
      nodeId,
      maxParallel,
      ...(flags.maxQueue !== undefined && { maxQueue: flags.maxQueue }),
      ...(flags.queueWait !== undefined && { maxQueueWaitMs: flags.queueWait * 1000 }),
      temperature: config.model.temperature,
      upstreamTimeoutMs: config.ollama.timeout * 1000,
      logger,
      key,
      allowManagement: flags.allowManagement === true,
    });
  } catch (err) {
    return fail((err as Error).message, 1);
  }
  logger.info(
    `harombe ${version} worker listening on http://${host.includes(':') ? `[${host}]` : host}:${worker.port} ` +
      `(model ${model}, tier ${tier}, ${maxParallel} at once + ${flags.maxQueue ?? 2 * maxParallel} queued, ollama ${ollamaUrl}, auth ${auth ? `on, token from ${auth.source}` : 'off'}, ` +
      `management routes ${flags.allowManagement ? 'ALLOWED' : 'off'}, key ${key.fingerprint})`,
  );
  if (!auth && !isLoopback(host)) {
    logger.warn(`no auth token is set and ${host} is reachable from other machines: anyone there can use this Ollama (set server.auth_token, --token-file or $HAROMBE_AUTH_TOKEN)`);
  } else if (!auth) {
    logger.warn('no auth token is set: any program on this machine can use this Ollama through the worker (set server.auth_token, --token-file or $HAROMBE_AUTH_TOKEN)');
  }

  let announcer: MdnsAnnouncer | undefined;
  if (flags.mdns) {
    const shortHost = hostname().split('.')[0] || 'harombe';
    // Announce where the worker can be reached: a worker on loopback is news only to this machine,
    // one on a single address only to that address's network.
    const mdnsInterface = flags.mdnsInterface ?? (isLoopback(host) ? '127.0.0.1' : isIPv4(host) && host !== '0.0.0.0' ? host : undefined);
    if (!flags.mdnsInterface && isLoopback(host)) logger.info('mDNS: announcing on this machine only, as the worker listens on loopback (--host 0.0.0.0 serves the LAN)');
    announcer = MdnsAnnouncer.start({
      name: flags.name ?? (worker.port === DEFAULT_WORKER_PORT ? shortHost : `${shortHost}-${worker.port}`),
      port: worker.port,
      txt: { model, tier, version, id: nodeId },
      interface: mdnsInterface,
      // Bound to a unicast address, a Linux socket never sees multicast: bind the wildcard, pick the interface by membership.
      bind: mdnsInterface ? '0.0.0.0' : undefined,
      logger,
    });
  }

  await untilSignal(logger);
  logger.info('stopping: no new requests; telling the LAN goodbye');
  await Promise.all([worker.stop(2000), announcer?.stop(1000)]);
  logger.info('stopped');
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once, for a stop that hangs. */
function untilSignal(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info(`${signal} received`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const force = (again: NodeJS.Signals) => {
        logger.warn(`${again} again: exiting without waiting`);
        process.exit(130);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function readConfig(explicitFile: string | undefined, logger: Logger, fail: (m: string) => never): HarombeConfig {
  try {
    const result = loadConfig({ explicitFile, env: process.env, cwd: process.cwd(), home: harombeHome() });
    for (const w of result.warnings) logger.warn(`${w.file}:${w.line}:${w.column} ${w.message}`);
    if (result.files.length) logger.debug(`config: ${result.files.join(', ')}`);
    return result.config;
  } catch (err) {
    if (err instanceof ConfigError) return fail(`invalid config\n${err.format()}`);
    throw err;
  }
}

/** The token and where it came from (never the token itself in a message). Flag over environment over file. */
function resolveToken(tokenFile: string | undefined, config: HarombeConfig, logger: Logger, fail: (m: string) => never): { token: string; source: string } | undefined {
  if (tokenFile) {
    const token = readTokenFile(tokenFile, logger, fail);
    return { token, source: '--token-file' };
  }
  const fromEnv = process.env.HAROMBE_AUTH_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: '$HAROMBE_AUTH_TOKEN' };
  const fromConfig = config.server.auth_token?.trim();
  if (fromConfig) return { token: fromConfig, source: 'server.auth_token' };
  return undefined;
}

/** Accepts what people write for Ollama (`localhost:11434`, like $OLLAMA_HOST) as well as a full URL. */
function normalizeOllamaUrl(value: string, from: string, fail: (m: string) => never): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return fail(`${from}: "${value}" is not a URL (expected e.g. http://localhost:11434)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`${from}: "${value}" must be an http:// or https:// URL`);
  if (url.search || url.hash) return fail(`${from}: "${value}" must not have a query or fragment`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** A stable id for this machine's worker, so the coordinator recognises it across restarts and addresses. */
function nodeIdFor(home: string, logger: Logger): string {
  const file = join(home, 'node_id');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (/^[A-Za-z0-9._-]{8,64}$/.test(existing)) return existing;
    logger.warn(`${file} does not hold a node id; writing a new one`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn(`cannot read ${file}: ${(err as Error).message}`);
  }
  const id = randomUUID();
  try {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(file, id + '\n', { mode: 0o600 });
  } catch (err) {
    logger.warn(`cannot save the node id to ${file} (${(err as Error).message}); it will change on the next start`);
  }
  return id;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return Number(value);
}

function parseTier(value: string): number {
  if (!/^[012]$/.test(value)) throw new InvalidArgumentError('expected 0 (fast), 1 (balanced) or 2 (powerful).');
  return Number(value);
}

function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return Number(value);
}

function nonEmpty(flag: string): (value: string) => string {
  return (value) => {
    if (!value.trim()) throw new InvalidArgumentError(`${flag} must not be empty.`);
    return value;
  };
}

function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 0.');
  return Number(value);
}
