import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { HarombeApi } from '../../src/vscode/extension';
import { testMetrics } from './testMetrics';

// publisher.name from package.json
const extensionId = 'harombe.harombe-vscode';

describe('activation', () => {
  it('finds the extension under development', () => {
    assert.ok(vscode.extensions.getExtension(extensionId), `${extensionId} is not installed`);
  });

  it('is active once start-up has finished, and reports how long activate() took', async () => {
    const extension = vscode.extensions.getExtension<HarombeApi>(extensionId);
    assert.ok(extension);
    // onStartupFinished activates it before the tests run (and run() opens its log first), so the
    // test cannot time loading the bundle; the extension times its own activate().
    assert.ok((extension.packageJSON as { activationEvents: string[] }).activationEvents.includes('onStartupFinished'));
    assert.equal(extension.isActive, true, 'not active after start-up finished');
    const api = extension.exports;
    assert.ok(Number.isFinite(api.activationMs) && api.activationMs > 0, `activationMs ${api.activationMs}`);
    testMetrics.record('extension.activateFnMs', api.activationMs);
  });

  it('registers harombe.showLogs, and running it succeeds', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('harombe.showLogs'), 'harombe.showLogs is not registered');
    await vscode.commands.executeCommand('harombe.showLogs');
  });
});
