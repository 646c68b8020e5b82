import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

/**
 * Two network namespaces joined by a veth pair, with multicast routed over it, for tests and the
 * bench that need real mDNS between "machines". Needs root.
 */

export const repoRoot = resolve(__dirname, '../../..');
// Absolute, because children may run with a temporary directory as their working directory.
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;

/** One JSON object a line from a child, with the child's `t` (ms since epoch; the clock is shared across namespaces). */
export type Line = Record<string, unknown> & { event: string; t: number };

/** A child process whose JSON output lines (of type `L`) are collected and can be waited for. */
export class Proc<L extends Line = Line> {
  readonly lines: L[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      try {
        this.lines.push(JSON.parse(l) as L);
      } catch {
        this.stderr.push(`stdout: ${l}`);
      }
      this.wake();
    });
    createInterface({ input: child.stderr! }).on('line', (l) => {
      this.stderr.push(`${Date.now()} ${l}`);
      this.wake();
    });
    this.exited = new Promise((res) => child.on('exit', (code) => res(code)));
  }

  send(o: Record<string, unknown>): void {
    this.child.stdin?.write(JSON.stringify(o) + '\n');
  }

  /** The first line (from index `from`) that passes `test`, waiting for it. */
  line(what: string, test: (l: L) => boolean, timeoutMs: number, from = 0): Promise<L> {
    return this.waitFor(what, () => this.lines.slice(from).find(test), timeoutMs);
  }

  /** Waits until `test` holds, checking after every line of output. */
  async waitFor<T>(what: string, test: () => T | undefined | false, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = test();
      if (v !== undefined && v !== false) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${this.stderr.slice(-30).join('\n')}`);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(timer);
          res();
        });
      });
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function netnsList(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

export interface NamespacePair {
  a: string;
  b: string;
  addrA: string;
  addrB: string;
  /** Runs a TypeScript file with node + tsx inside a namespace. */
  run<L extends Line = Line>(ns: string, script: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Proc<L>;
  /** Runs a TypeScript file to its end inside a namespace and returns what it printed. */
  exec(ns: string, script: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Kills every child started with `run` and deletes both namespaces; safe to call twice. */
  cleanup(): Promise<void>;
}

/**
 * Makes namespaces `<prefix>-a-<pid>` and `<prefix>-b-<pid>` on `10.<subnet>.0/24` (.1 and .2),
 * after deleting ones a crashed run left behind (their pid is gone). The caller must call
 * `cleanup()` in an `after` hook, which runs even when the test failed.
 */
export function createNamespacePair(prefix: string, subnet: string): NamespacePair {
  removeStaleNamespaces(prefix);
  const a = `${prefix}-a-${process.pid}`;
  const b = `${prefix}-b-${process.pid}`;
  const addrA = `10.${subnet}.1`;
  const addrB = `10.${subnet}.2`;
  const procs: Proc<Line>[] = [];
  const pair: NamespacePair = {
    a,
    b,
    addrA,
    addrB,
    run<L extends Line = Line>(ns: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = repoRoot) {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', tsxLoader, script, ...args], {
        cwd,
        env: { ...process.env, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const p = new Proc<L>(child);
      procs.push(p);
      return p;
    },
    exec(ns, script, args, env = {}, cwd = repoRoot) {
      return new Promise((res) => {
        execFile(
          'ip',
          ['netns', 'exec', ns, process.execPath, '--import', tsxLoader, script, ...args],
          { cwd, env: { ...process.env, ...env }, timeout: 30_000 },
          (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
      });
    },
    async cleanup() {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 2000))])));
      for (const ns of [a, b]) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // Never created or already gone.
        }
      }
    },
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    // Each end is created inside its namespace, so the names cannot clash with the host's or another run's.
    ip('link', 'add', 'hdisc0', 'netns', a, 'type', 'veth', 'peer', 'name', 'hdisc1', 'netns', b);
    ip('-n', a, 'addr', 'add', `${addrA}/24`, 'dev', 'hdisc0');
    ip('-n', b, 'addr', 'add', `${addrB}/24`, 'dev', 'hdisc1');
    for (const [ns, dev] of [[a, 'lo'], [a, 'hdisc0'], [b, 'lo'], [b, 'hdisc1']] as const) ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', a, 'route', 'add', '224.0.0.0/4', 'dev', 'hdisc0');
    ip('-n', b, 'route', 'add', '224.0.0.0/4', 'dev', 'hdisc1');
  } catch (err) {
    void pair.cleanup();
    throw err;
  }
  return pair;
}

/** Namespaces left by a run that crashed (its pid is gone); those of a run still going are left alone. */
function removeStaleNamespaces(prefix: string): void {
  for (const name of netnsList()) {
    const m = new RegExp(`^${prefix}-[ab]-(\\d+)$`).exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive || Number(m[1]) === process.pid) {
      try {
        ip('netns', 'del', name);
      } catch {
        // Already gone.
      }
    }
  }
}
