import { strict as assert } from 'node:assert';
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

const root = resolve(__dirname, '../../..');

describe('npm run package (the .vsix the README offers)', function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'harombe-vsix-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
    // The package script leaves the production build in dist/; the suites after this one run the development build.
    execFileSync(process.execPath, [join(root, 'esbuild.mjs')], { cwd: root, stdio: 'inherit' });
  });

  it("packages the extension with its bundles and README, without source maps (the script's own command)", () => {
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const out = join(dir, 'harombe.vsix');
    const command = (scripts.package ?? '').replace('--out harombe-vscode.vsix', `--out ${out}`);
    assert.notEqual(command, scripts.package, 'the package script names its output');
    const env = { ...process.env, PATH: `${join(root, 'node_modules/.bin')}${delimiter}${process.env.PATH ?? ''}` };
    execSync(command, { cwd: root, env, stdio: 'pipe' });
    assert.ok(statSync(out).size > 100_000, 'the .vsix was written');
    const files = execSync('vsce ls --no-dependencies', { cwd: root, env, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/extension.js', 'dist/cli.js', 'dist/webview/chat.js']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    assert.deepEqual(files.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('node_modules/')), []);
  });
});
