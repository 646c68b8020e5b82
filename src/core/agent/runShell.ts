import { spawn } from 'node:child_process';

export interface ShellResult {
  exitCode: number | null;
  /** stdout and stderr interleaved as they arrived, cut at `maxBytes`. */
  output: string;
  timedOut: boolean;
  truncated: boolean;
}

/**
 * Runs one command line through the system shell. The child gets its own process group so that a
 * timeout or a cancel kills what the shell started too (`sleep 100 & wait` would otherwise survive).
 */
export function runShell(command: string, opts: { cwd: string; timeoutMs: number; maxBytes: number; signal?: AbortSignal }): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { cwd: opts.cwd, shell: true, detached: process.platform !== 'win32', stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let timedOut = false;
    const take = (b: Buffer) => {
      if (size >= opts.maxBytes) {
        truncated = true;
        return;
      }
      const room = opts.maxBytes - size;
      if (b.length > room) truncated = true;
      const part = b.subarray(0, room);
      chunks.push(part);
      size += part.length;
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const kill = () => {
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    const onAbort = () => kill();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ exitCode: code, output: Buffer.concat(chunks).toString('utf8'), timedOut, truncated });
    });
  });
}
