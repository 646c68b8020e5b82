import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HarombeApi } from '../../../src/vscode/extension';
import { freePort, refused } from '../loopbackPorts';
import { until } from '../until';

const extensionId = 'harombe.harombe-vscode';


/**
 * A workspace must not be able to open a port that serves the user's cluster: in Restricted Mode
 * the workspace's `harombe.gateway.*` are ignored, while the user's own settings still count.
 */
describe('Restricted Mode: the gateway settings of the workspace', function () {
  this.timeout(30_000);
  let api: HarombeApi;
  let settingsFile: string;
  let previous: string | undefined;
  let port: number;

  before(async () => {
    const extension = vscode.extensions.getExtension<HarombeApi>(extensionId);
    assert.ok(extension);
    api = extension.isActive ? extension.exports : await extension.activate();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder, 'the tests need a workspace folder');
    settingsFile = path.join(folder, '.vscode', 'settings.json');
    previous = existsSync(settingsFile) ? readFileSync(settingsFile, 'utf8') : undefined;
    port = await freePort();
  });

  after(async () => {
    const user = vscode.workspace.getConfiguration('harombe.gateway');
    await user.update('enabled', undefined, vscode.ConfigurationTarget.Global);
    await user.update('port', undefined, vscode.ConfigurationTarget.Global);
    if (previous === undefined) rmSync(settingsFile, { force: true });
    else writeFileSync(settingsFile, previous);
  });

  it('ignores harombe.gateway.enabled from the workspace', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the harness opened the folder trusted');
    mkdirSync(path.dirname(settingsFile), { recursive: true });
    // routing.loadBalance is an unrestricted canary: once it reads false, the file has been read.
    writeFileSync(settingsFile, JSON.stringify({ 'harombe.routing.loadBalance': false, 'harombe.gateway.enabled': true, 'harombe.gateway.port': port }, null, 2));
    await until('the workspace settings to be read', () => vscode.workspace.getConfiguration('harombe').inspect('routing.loadBalance')?.workspaceValue === false);
    await api.gateway.sync();
    assert.equal(api.gateway.status.state, 'off');
    assert.equal(await refused(port), true, `the workspace's settings opened port ${port}`);
  });

  it('still follows the user’s own harombe.gateway.* settings', async () => {
    const userPort = await freePort();
    const user = vscode.workspace.getConfiguration('harombe.gateway');
    await user.update('port', userPort, vscode.ConfigurationTarget.Global);
    await user.update('enabled', true, vscode.ConfigurationTarget.Global);
    await until(`the gateway to run on the user's port ${userPort}`, () => api.gateway.status.state === 'running' && api.gateway.url === `http://127.0.0.1:${userPort}`);
    assert.equal(await refused(userPort), false);
    assert.equal(await refused(port), true, `the workspace's port ${port} is open`);
    await user.update('enabled', undefined, vscode.ConfigurationTarget.Global);
    await until('the gateway to stop', () => api.gateway.status.state === 'off');
    assert.equal(await refused(userPort), true);
  });
});
