import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fakeReply } from '../fakes/fakeReply';
import type { FakeCluster } from '../fakes/fakeCluster';
import { until } from './until';
import { useWorkspaceCluster } from './workspaceCluster';

type ChatBody = { messages?: { role: string; content?: string }[] };

describe('@harombe in the chat view: follow-up questions', function () {
  this.timeout(60_000);
  let cluster: FakeCluster;

  before(async () => {
    ({ cluster } = await useWorkspaceCluster([{ name: 'ph-only', tier: 1 }], 'participantHistory.test.ts'));
  });

  after(async () => {
    await cluster?.stop();
  });

  it("sends the earlier answer back as the node said it, without the route line shown above it", async () => {
    // The chat view's rendered answer is not readable from the extension host; the node's requests are.
    const chats = () => cluster.node('ph-only').requests.filter((r) => r.path === '/api/chat');
    await vscode.commands.executeCommand('workbench.action.chat.newChat');
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@harombe first question' });
    await until('the first question to reach the node', () => chats().length === 1);
    // The fake answers at once; the pause lets VS Code record the first turn before the follow-up is typed.
    await new Promise((r) => setTimeout(r, 1000));
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@harombe second question' });
    await until('the follow-up to reach the node', () => chats().length === 2);
    const messages = (chats()[1]?.body as ChatBody).messages?.map((m) => [m.role, m.content]);
    assert.deepEqual(messages, [
      ['user', 'first question'],
      ['assistant', fakeReply(undefined, [{ role: 'user', content: 'first question' }], 'qwen2.5:14b')],
      ['user', 'second question'],
    ]);
  });
});
