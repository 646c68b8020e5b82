/**
 * Bundles test/integration/**\/*.ts into out/test/integration/ for VS Code's extension host: one
 * CommonJS file per test file, plus index.js (the extensionTestsPath). vscode is provided by the
 * host; mocha stays external so that index.js and every test file share the one mocha instance that
 * defines describe/it (resolved from the repo's node_modules: the repo is the extension under
 * development). Run by `npm run test:integration`.
 */
import * as esbuild from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { harness } from './harness';

async function main(): Promise<void> {
  const sourceDir = path.join(harness.repoRoot, 'test', 'integration');
  const outDir = path.dirname(harness.integrationTestsEntry);
  const entryPoints = readdirSync(sourceDir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name === 'index.ts' || name.endsWith('.test.ts'))
    .map((name) => path.join(sourceDir, name));

  // A test file deleted from the sources must not live on as a stale bundle.
  rmSync(outDir, { recursive: true, force: true });
  const started = performance.now();
  await esbuild.build({
    entryPoints,
    outdir: outDir,
    outbase: sourceDir,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  console.log(`[buildTests] ${entryPoints.length} files → ${path.relative(harness.repoRoot, outDir)} (${Math.round(performance.now() - started)} ms)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
