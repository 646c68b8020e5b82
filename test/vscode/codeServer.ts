import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { harness } from './harness';

export interface CodeServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  logFile: string;
  /** A vscode-remote:// URI for a path on this machine, as the workbench's payload wants it. */
  remoteUri(filePath: string): string;
  /** The end of code-server's log, for error messages. */
  logTail(lines: number): string;
  /** Kills the whole process group; idempotent. */
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  /** A fresh folder for this run: user data, extensions and the log go there. */
  runDir: string;
  /** Extra environment. It reaches the extension host, so tests can be told where to write. */
  env?: Record<string, string>;
  /**
   * false (the default) starts with --disable-workspace-trust: with a fresh user-data-dir the
   * folder otherwise opens in Restricted Mode, where an extension that does not support untrusted
   * workspaces never activates, silently. Pass true to test Restricted Mode on purpose.
   */
  workspaceTrust?: boolean;
}

const startTimeoutMs = 60_000;

/**
 * Starts code-server (VS Code's server and web workbench) in a process group of its own, so that
 * stopping it also ends its children (file watcher, extension hosts, pty host): killing only the
 * main pid once left a watcher running. It is killed as well when this process exits, is
 * interrupted, or is terminated, and the next start kills what a SIGKILLed run left behind.
 */
export async function startCodeServer({ runDir, env = {}, workspaceTrust = false }: CodeServerOptions): Promise<CodeServer> {
  const manifest = harness.manifest();
  killLeftoverServers();
  exitOnSignals();
  const port = await freePort();
  const userDataDir = path.join(runDir, 'user-data');
  const extensionsDir = path.join(runDir, 'extensions');
  mkdirSync(userDataDir, { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  const logFile = path.join(runDir, 'code-server.log');
  const logFd = openSync(logFile, 'a');
  // VS Code leaves its IPC sockets in TMPDIR. A folder of our own keeps /tmp clean; it must have a
  // short path, since a unix socket's path is limited to 107 bytes.
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'hvs-'));

  const args = [
    manifest.codeServerEntry,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    // Otherwise code-server creates ~/.config/code-server/config.yaml with a password in it.
    '--config', path.join(runDir, 'config.yaml'),
    // Without it the workbench silently ignores the ?payload= naming the extension under development and its tests.
    '--vscode-option', 'enable-smoke-test-driver',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
  ];
  if (!workspaceTrust) args.push('--disable-workspace-trust');

  // detached is setsid: the server leads a new process group that can be killed as a whole.
  const child = spawn(path.join(manifest.nodeBin, 'node'), args, {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, PATH: `${manifest.nodeBin}${path.delimiter}${process.env.PATH ?? ''}`, TMPDIR: tmpDir, ...env },
  });
  closeSync(logFd);
  const pgid = child.pid;
  if (pgid === undefined) throw new Error('code-server did not start');
  const pidFile = path.join(harness.servers, String(pgid));
  mkdirSync(harness.servers, { recursive: true });
  writeFileSync(pidFile, JSON.stringify({ owner: process.pid, tmpDir } satisfies ServerRecord));

  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitReason = `code-server exited (${code ?? signal})`;
      resolve();
    }),
  );
  const cleanUp = () => {
    rmSync(pidFile, { force: true });
    rmSync(tmpDir, { recursive: true, force: true });
  };
  // All synchronous, so this also works in an 'exit' handler, where nothing async runs.
  const killOnExit = () => {
    killGroup(pgid, 'SIGKILL');
    cleanUp();
  };
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    killGroup(pgid, 'SIGTERM');
    await Promise.race([exited, delay(5000)]);
    // The main process may be gone while children linger: SIGKILL the group either way.
    killGroup(pgid, 'SIGKILL');
    cleanUp();
  };

  const url = `http://127.0.0.1:${port}`;
  const logTail = (lines: number) => tail(logFile, lines);
  try {
    await waitForHealthz(url, () => exitReason);
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- ${logFile} (end) ---\n${logTail(40)}`, { cause: error });
  }
  return {
    url,
    logFile,
    remoteUri: (filePath) => `vscode-remote://127.0.0.1:${port}${path.resolve(filePath)}`,
    logTail,
    stop,
  };
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** What .vscode-test/servers/<pgid> records, for the next run to clean up after a killed one. */
interface ServerRecord {
  /** The runner that started the server. */
  owner: number;
  tmpDir: string;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

let signalsHandled = false;

// Node's default on SIGINT/SIGTERM/SIGHUP is to die without running 'exit' handlers, which would
// leave the server (in its own session, so the terminal's Ctrl-C never reaches it) running.
function exitOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  const codes: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
  for (const [signal, code] of Object.entries(codes)) {
    process.once(signal, () => {
      console.error(`\n[code-server] ${signal}: stopping the server`);
      process.exit(code);
    });
  }
}

// A run killed with SIGKILL (or by a CI step timeout) cannot clean up after itself; the next one
// does: every server whose runner is gone is killed, if that group still is a code-server.
function killLeftoverServers(): void {
  if (!existsSync(harness.servers)) return;
  for (const name of readdirSync(harness.servers)) {
    const file = path.join(harness.servers, name);
    let record: Partial<ServerRecord> = {};
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as ServerRecord;
    } catch {
      // Unreadable: treat its runner as gone.
    }
    if (record.owner !== undefined && record.owner !== process.pid && isAlive(record.owner)) continue;
    const pgid = Number(name);
    if (Number.isInteger(pgid) && pgid > 1 && isCodeServer(pgid)) {
      console.error(`[code-server] killing the server left by an earlier run (process group ${pgid})`);
      killGroup(pgid, 'SIGKILL');
    }
    if (record.tmpDir?.startsWith(os.tmpdir())) rmSync(record.tmpDir, { recursive: true, force: true });
    rmSync(file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isCodeServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('code-server');
  } catch {
    return false;
  }
}

async function waitForHealthz(url: string, failure: () => string | undefined): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    const reason = failure();
    if (reason) throw new Error(`${reason} before ${url}/healthz answered`);
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await delay(200);
  }
  throw new Error(`${url}/healthz did not answer within ${startTimeoutMs / 1000} s`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
