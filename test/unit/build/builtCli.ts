import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');
let built: string | undefined;

/**
 * The CLI bundle as `npm run build` makes it, built once per test process into a temporary folder
 * (never into the checkout's dist/, which a developer or another suite may be using), for the
 * tests that run `harombe` as a real process. Returns the path of its cli.js.
 */
export function builtCli(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'harombe-build-'));
  execFileSync(process.execPath, [join(root, 'esbuild.mjs'), `--outdir=${dir}`], { cwd: root, stdio: 'inherit' });
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  built = join(dir, 'cli.js');
  return built;
}
