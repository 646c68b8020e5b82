import { strict as assert } from 'node:assert';
import { execSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');

/** What the package script reads besides the bundles it builds (vsce reads them from its working directory). */
const PACKAGE_INPUTS = ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', '.vscodeignore', 'media'];

describe('npm run package (the .vsix the README offers)', function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    // The script runs in a copy of the package's inputs, so that its production build goes to the
    // copy's dist/, not the checkout's (which a developer, or another suite, may be using).
    dir = mkdtempSync(join(tmpdir(), 'harombe-vsix-'));
    for (const f of PACKAGE_INPUTS) cpSync(join(root, f), join(dir, f), { recursive: true });
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("packages the extension with its bundles and README, without source maps (the script's own command)", () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const out = join(dir, 'harombe.vsix');
    const command = (scripts.package ?? '').replace('--out harombe-vscode.vsix', `--out ${out}`).replace('node esbuild.mjs', `node ${join(root, 'esbuild.mjs')}`);
    assert.ok(command.includes(`--out ${out}`), 'the package script names its output');
    assert.ok(command.includes(join(root, 'esbuild.mjs')), 'the package script builds with esbuild.mjs');
    const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}${delimiter}${process.env.PATH ?? ''}` };
    const distBefore = distStamp();
    execSync(command, { cwd: dir, env, stdio: 'pipe' });
    assert.deepEqual(distStamp(), distBefore, "the package script wrote into the checkout's dist/");
    assert.ok(statSync(out).size > 100_000, 'the .vsix was written');
    const files = execSync('vsce ls --no-dependencies', { cwd: dir, env, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/extension.js', 'dist/cli.js', 'dist/webview/chat.js']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    assert.deepEqual(files.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('node_modules/')), []);
  });
});

/** When the checkout's bundles last changed (absent ones included). */
function distStamp(): Record<string, number> {
  const stamp: Record<string, number> = {};
  for (const f of ['dist/cli.js', 'dist/extension.js', 'dist/webview/chat.js']) stamp[f] = existsSync(join(root, f)) ? statSync(join(root, f)).mtimeMs : -1;
  return stamp;
}
