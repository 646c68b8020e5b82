import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HarombeApi } from '../../src/vscode/extension';
import { startFakeCluster, type FakeCluster, type FakeNodeSpec } from '../fakes/fakeCluster';
import { until } from './until';

/**
 * Starts fake nodes, writes them as the workspace's `.harombe/harombe.yaml` (as a user would) and
 * waits until Harombe has every one of them available and no other node.
 */
export async function useWorkspaceCluster(specs: FakeNodeSpec[], writtenBy: string): Promise<{ api: HarombeApi; cluster: FakeCluster }> {
  const harombe = vscode.extensions.getExtension<HarombeApi>('harombe.harombe-vscode');
  assert.ok(harombe);
  const api = harombe.isActive ? harombe.exports : await harombe.activate();
  const cluster = await startFakeCluster(specs);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(folder, 'the tests need a workspace folder');
  const configFile = path.join(folder, '.harombe', 'harombe.yaml');
  mkdirSync(path.dirname(configFile), { recursive: true });
  writeFileSync(configFile, `# written by ${writtenBy}\n${cluster.yaml}`);
  const names = specs.map((s) => s.name).sort();
  await until(`the nodes ${names.join(', ')} to be the available nodes`, () => {
    const nodes = api.host.coordinator.nodes();
    return nodes.length === names.length && nodes.every((n) => n.state === 'available') && nodes.map((n) => n.name).sort().join() === names.join();
  });
  return { api, cluster };
}
