import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HarombeApi } from '../../src/vscode/extension';
import { fakeReply } from '../fakes/fakeReply';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import { until } from './until';

const extensionId = 'harombe.harombe-vscode';

// @types/vscode 1.96 has no registerLanguageModelChatProvider; the editor under test (1.139) does, and
// a missing API is a failure here, not a skip.
const hasModelApi = typeof (vscode.lm as { registerLanguageModelChatProvider?: unknown }).registerLanguageModelChatProvider === 'function';

describe('VS Code chat: language models and @harombe', function () {
  this.timeout(30_000);
  let api: HarombeApi;
  let cluster: FakeCluster;

  before(async () => {
    const extension = vscode.extensions.getExtension<HarombeApi>(extensionId);
    assert.ok(extension);
    api = extension.isActive ? extension.exports : await extension.activate();
    cluster = await startFakeCluster([
      { name: 'lm-fast', tier: 0 },
      { name: 'lm-mid', tier: 1 },
      { name: 'lm-big', tier: 2 },
    ]);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder, 'the tests need a workspace folder');
    const configFile = path.join(folder, '.harombe', 'harombe.yaml');
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, `# written by lm.test.ts\n${cluster.yaml}`);
    await until('the three lm fake nodes to be available', () => api.host.coordinator.nodes().filter((n) => n.name.startsWith('lm-') && n.state === 'available').length === 3);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('offers the four Harombe models through vscode.lm', async () => {
    assert.ok(hasModelApi, 'the editor under test has vscode.lm.registerLanguageModelChatProvider');
    const models = await vscode.lm.selectChatModels({ vendor: 'harombe' });
    assert.deepEqual(
      models.map((m) => [m.id, m.name, m.family]).sort(),
      [
        ['harombe-auto', 'Harombe (auto)', 'harombe'],
        ['harombe-tier-0', 'Harombe tier 0', 'harombe'],
        ['harombe-tier-1', 'Harombe tier 1', 'harombe'],
        ['harombe-tier-2', 'Harombe tier 2', 'harombe'],
      ],
    );
  });

  it('streams the tier 1 node answer through model.sendRequest', async () => {
    assert.ok(hasModelApi, 'the editor under test has vscode.lm.registerLanguageModelChatProvider');
    const [model] = await vscode.lm.selectChatModels({ vendor: 'harombe', id: 'harombe-tier-1' });
    assert.ok(model);
    const source = new vscode.CancellationTokenSource();
    const response = await model.sendRequest([vscode.LanguageModelChatMessage.User('hi')], {}, source.token);
    let text = '';
    let pieces = 0;
    for await (const piece of response.text) {
      text += piece;
      pieces++;
    }
    assert.equal(text, fakeReply(undefined, [{ role: 'user', content: 'hi' }], 'qwen2.5:14b'));
    assert.ok(pieces > 1, 'the answer arrived in pieces');
    assert.ok((await model.countTokens('four score')) > 0);
  });

  it('@harombe /test in the chat view runs the node test on every node', async () => {
    // The chat view's rendered answer is not readable from the extension host; what the participant
    // does is: /test sends every node the test prompt, so the fake nodes are the witnesses.
    const testPrompts = (name: string) => cluster.node(name).requests.filter((r) => r.path === '/api/chat' && JSON.stringify(r.body).includes('Reply with the single word: ok')).length;
    const names = ['lm-fast', 'lm-mid', 'lm-big'];
    const before = names.map(testPrompts);
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@harombe /test' });
    await until('every node to get the test prompt from @harombe /test', () => names.every((n, i) => testPrompts(n) > (before[i] ?? 0)));
  });

  it('contributes @harombe with /status and /test', () => {
    const contributed = (vscode.extensions.getExtension(extensionId)?.packageJSON as { contributes?: { chatParticipants?: { id: string; commands: { name: string }[] }[] } }).contributes?.chatParticipants;
    assert.deepEqual(contributed?.map((p) => [p.id, p.commands.map((c) => c.name)]), [['harombe.chat-participant', ['status', 'test']]]);
    // /status only renders markdown in the chat view, which the extension host cannot read: not asserted.
    assert.equal(typeof vscode.chat.createChatParticipant, 'function');
  });
});
