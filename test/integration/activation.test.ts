import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { testMetrics } from './testMetrics';

// publisher.name from package.json
const extensionId = 'harombe.harombe-vscode';

describe('activation', () => {
  it('finds the extension under development', () => {
    assert.ok(vscode.extensions.getExtension(extensionId), `${extensionId} is not installed`);
  });

  it('activates, and reports how long that took as the extension host sees it', async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension);
    // Activation is implicit (on the extension's commands), so nothing has activated it yet and
    // this measures loading dist/extension.js plus activate(). Should an activation event such as
    // onStartupFinished be added, it is already active here and there is no figure to take.
    if (extension.isActive) {
      console.log('extension.activationMs not measured: the extension was active before the tests ran');
    } else {
      const started = performance.now();
      await extension.activate();
      testMetrics.record('extension.activationMs', performance.now() - started);
    }
    assert.equal(extension.isActive, true);
  });

  it('registers harombe.showLogs, and running it succeeds', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('harombe.showLogs'), 'harombe.showLogs is not registered');
    await vscode.commands.executeCommand('harombe.showLogs');
  });
});
