// Bundles the CLI and the extension (Node, CommonJS) and, later, the chat webview (browser, IIFE).
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asciiOnly } from './scripts/asciiOnly.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// --outdir=DIR (from where it is run; default dist): the tests build into a temporary folder,
// never into the checkout's dist/. The sources are always this checkout's, wherever it is run from.
const outdir = resolve(process.argv.find((a) => a.startsWith('--outdir='))?.slice('--outdir='.length) || 'dist');
process.chdir(dirname(fileURLToPath(import.meta.url)));

const nodeEntries = [
  { in: 'src/cli/main.ts', out: 'cli' },
  { in: 'src/vscode/extension.ts', out: 'extension' },
].filter((e) => existsSync(e.in));

const webEntries = [{ in: 'src/webview/chat/main.ts', out: 'webview/chat' }].filter((e) => existsSync(e.in));

/** @type {import('esbuild').Plugin} */
const watchReporter = {
  name: 'watch-reporter',
  setup(build) {
    build.onStart(() => console.log('[watch] build started'));
    build.onEnd((result) => {
      for (const e of result.errors) console.error(`✘ [ERROR] ${e.text}${e.location ? ` ${e.location.file}:${e.location.line}:${e.location.column}` : ''}`);
      console.log('[watch] build finished');
    });
  },
};

/**
 * Writes the Node bundles itself, with every non-ASCII character escaped (see asciiOnly): V8 then
 * keeps each bundle's source as a one-byte string, half the memory, in every `harombe` process and
 * in the extension host.
 * @type {import('esbuild').Plugin}
 */
const asciiOutput = {
  name: 'ascii-output',
  setup(build) {
    build.onEnd((result) => {
      for (const f of result.outputFiles ?? []) {
        mkdirSync(dirname(f.path), { recursive: true });
        writeFileSync(f.path, f.path.endsWith('.js') ? asciiOnly(f.text, f.path) : f.contents);
      }
    });
  },
};

const common = {
  // esbuild's service started before the chdir above; tell it where the sources are.
  absWorkingDir: process.cwd(),
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: watch ? 'silent' : 'warning',
  plugins: watch ? [watchReporter] : [],
};

const contexts = [];
if (nodeEntries.length) {
  contexts.push(
    await esbuild.context({
      ...common,
      entryPoints: nodeEntries,
      outdir,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode'],
      write: false,
      plugins: [...common.plugins, asciiOutput],
    }),
  );
}
if (webEntries.length) {
  contexts.push(
    await esbuild.context({
      ...common,
      entryPoints: webEntries,
      outdir,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
    }),
  );
}

// The chat webview loads codicons from dist/webview (localResourceRoots is limited to dist/ and media/).
function copyCodicons() {
  if (webEntries.length === 0) return;
  mkdirSync(`${outdir}/webview`, { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf']) copyFileSync(`node_modules/@vscode/codicons/dist/${f}`, `${outdir}/webview/${f}`);
}
copyCodicons();

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
