import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { harness } from './harness';

/**
 * Installs test/lmClient into a run's extensions folder before code-server starts, so the
 * integration tests can call Harombe's models from another extension. It cannot be a second
 * development extension: code-server's web workbench reads the ?payload= into a Map, so a second
 * extensionDevelopmentPath replaces the first. An unpacked extension folder in --extensions-dir is
 * picked up at start (and added to its extensions.json), as a user-installed extension is.
 */
export function installLmClient(runDir: string): void {
  const manifest = JSON.parse(readFileSync(path.join(harness.lmClientExtension, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const extensionsDir = path.join(runDir, 'extensions');
  mkdirSync(extensionsDir, { recursive: true });
  cpSync(harness.lmClientExtension, path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`), { recursive: true });
}
