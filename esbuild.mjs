// Bundles the CLI and the extension (Node, CommonJS) and, later, the chat webview (browser, IIFE).
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { asciiOnly } from './scripts/asciiOnly.mjs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

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
      outdir: 'dist',
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
      outdir: 'dist',
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
    }),
  );
}

// The chat webview loads codicons from dist/webview (localResourceRoots is limited to dist/ and media/).
function copyCodicons() {
  if (webEntries.length === 0) return;
  mkdirSync('dist/webview', { recursive: true });
  for (const f of ['codicon.css', 'codicon.ttf']) copyFileSync(`node_modules/@vscode/codicons/dist/${f}`, `dist/webview/${f}`);
}
copyCodicons();

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
