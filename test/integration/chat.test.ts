import * as assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Coordinator } from '../../src/core/coordinator';
import type { HostToWebview } from '../../src/shared/protocol';
import type { ChatTestHooks } from '../../src/vscode/chat/chatViewProvider';
import { fakeReply } from '../fakes/fakeReply';
import { ANSWER, REASONING, reasoning } from '../fakes/reasoningSample';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import { ScriptedApprover } from '../unit/agent/scriptedApprover';
import { testMetrics } from './testMetrics';
import { until } from './until';

const extensionId = 'harombe.harombe-vscode';

describe('chat view', function () {
  this.timeout(30_000);
  let cluster: FakeCluster;
  let coordinator: Coordinator;
  let hooks: ChatTestHooks;
  let posted: HostToWebview[] = [];
  let subscription: vscode.Disposable;
  const of = <T extends HostToWebview['type']>(type: T) => posted.filter((m) => m.type === type) as Extract<HostToWebview, { type: T }>[];

  before(async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension);
    if (!extension.isActive) await extension.activate();
    // Its own coordinator over its own fake node, so the other suites' config file does not matter.
    cluster = await startFakeCluster([{ name: 'box', tier: 1, options: { chunkDelayMs: 5 } }], { health: { interval: 60, timeout: 0.5 } });
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
    hooks = await vscode.commands.executeCommand<ChatTestHooks>('harombe.chat.testHooks');
    assert.ok(hooks, 'the test hooks command returned nothing');
    subscription = hooks.onPost((m) => posted.push(m));
    hooks.setCoordinator(coordinator);
  });

  after(async () => {
    hooks?.setApprover(undefined);
    hooks?.setCoordinator(undefined);
    subscription?.dispose();
    coordinator?.dispose();
    await cluster?.stop();
  });

  beforeEach(() => {
    posted = [];
  });

  it('resolves in the Harombe container, and its webview loads its script and posts ready', async () => {
    const started = performance.now();
    await vscode.commands.executeCommand('harombe.chat.focus');
    await until('the view to resolve', () => hooks.resolved);
    // The host sends the history only in answer to the webview's `ready`: proof that chat.js ran under the CSP.
    await until('the webview to post ready', () => of('chat/history').length > 0, 15_000);
    testMetrics.record('chat.viewReadyMs', performance.now() - started);
    const snapshot = of('cluster/snapshot').at(-1);
    assert.ok(snapshot);
    assert.deepEqual(snapshot.nodes.map((n) => n.name), ['box']);
    assert.equal(snapshot.toolsEnabled, true);
  });

  it('streams a prompt to the fake node: route with its label, deltas, done', async () => {
    const started = performance.now();
    await hooks.receive({ type: 'chat/send', text: 'hello there', tier: 1 });
    testMetrics.record('chat.roundTripMs', performance.now() - started);
    const route = of('chat/route')[0];
    assert.ok(route, JSON.stringify(posted));
    assert.equal(route.node, 'box');
    assert.equal(route.label, 'tier 1 · box · chosen tier');
    const text = of('chat/delta').map((d) => d.text).join('');
    assert.equal(text, fakeReply(undefined, [{ role: 'user', content: 'hello there' }], 'qwen2.5:14b'));
    assert.ok(of('chat/delta').length > 3, 'the answer arrived in pieces');
    assert.equal(posted.at(-1)?.type, 'chat/done');
    assert.deepEqual(of('chat/user').map((u) => u.text), ['hello there']);
  });

  it('a reasoning node: the reasoning goes to the Thinking… section (chat/thinking), the answer apart, and the history keeps both apart', async () => {
    cluster.ollama('box').setOptions({ reply: ANSWER, reasoning: reasoning('content') });
    try {
      await hooks.receive({ type: 'chat/send', text: 'make total() shorter', tier: 1 });
    } finally {
      cluster.ollama('box').setOptions({ reply: undefined, reasoning: undefined });
    }
    assert.equal(of('chat/thinking').map((t) => t.text).join(''), `\n${REASONING}\n`);
    assert.equal(of('chat/delta').map((d) => d.text).join(''), ANSWER);
    const done = of('chat/done').at(-1);
    assert.ok(done?.thinkingMs !== undefined, JSON.stringify(done));
    posted = [];
    await hooks.receive({ type: 'ready' });
    const saved = of('chat/history').at(-1)?.entries.at(-1);
    assert.equal(saved?.text, ANSWER);
    assert.equal(saved?.thinking, `\n${REASONING}\n`);
  });

  it('drops messages that fail validation', async () => {
    await hooks.receive({ type: 'chat/send', text: 42, tier: 'auto' });
    await hooks.receive({ type: 'chat/send', text: 'x', tier: 7 });
    await hooks.receive({ type: 'nope' });
    assert.deepEqual(posted, []);
  });

  it('Stop cancels the request on the node', async () => {
    cluster.ollama('box').setOptions({ chunkDelayMs: 300 });
    try {
      const sending = hooks.receive({ type: 'chat/send', text: 'a slow answer please', tier: 1 });
      await until('the first delta', () => of('chat/delta').length > 0, 5_000);
      const stopAt = performance.now();
      await hooks.receive({ type: 'chat/stop' });
      await sending;
      testMetrics.record('chat.stopToEndMs', performance.now() - stopAt);
      // Not a time: a Stop that did nothing would end with chat/done (the answer takes ~3 s), checked below.
      const last = posted.at(-1);
      assert.equal(last?.type, 'chat/error');
      assert.equal(last.type === 'chat/error' && last.cancelled, true);
      assert.equal(of('chat/done').length, 0);
      // The node saw its client go away mid-answer: the HTTP request was torn down, not just ignored.
      const aborted = await cluster.ollama('box').waitForClientAbort(2_000);
      assert.match(JSON.stringify(aborted.body), /a slow answer please/);
    } finally {
      cluster.ollama('box').setOptions({ chunkDelayMs: 5 });
    }
  });

  it('a denied tool write leaves the file unchanged, and the denial reaches the chat', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder);
    const target = path.join(folder, 'chat-denied.txt');
    writeFileSync(target, 'original\n');
    const approver = new ScriptedApprover({ edit: false });
    hooks.setApprover(approver);
    cluster.ollama('box').setOptions({ toolCalls: [{ name: 'write_file', arguments: { path: 'chat-denied.txt', content: 'pwned' } }] });
    try {
      await hooks.receive({ type: 'chat/send', text: 'overwrite chat-denied.txt', tier: 1 });
      const steps = of('chat/toolStep');
      assert.deepEqual(steps.map((s) => [s.name, s.status]), [['write_file', 'running'], ['write_file', 'denied']]);
      assert.equal(readFileSync(target, 'utf8'), 'original\n');
      assert.deepEqual(approver.edits, [{ path: 'chat-denied.txt', before: 'original\n', after: 'pwned' }]);
      assert.equal(posted.at(-1)?.type, 'chat/done');
    } finally {
      cluster.ollama('box').setOptions({ toolCalls: undefined });
      hooks.setApprover(undefined);
      rmSync(target, { force: true });
    }
  });

  it('attaches the selection of the active editor to the prompt', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    assert.ok(folder);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'src', 'math.ts'));
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(0, 0, 1, 0);
    const selected = doc.getText(editor.selection);
    assert.ok(selected.trim().length > 0);
    const before = cluster.node('box').requests.length;
    await hooks.receive({ type: 'chat/send', text: 'explain this', tier: 1, attach: 'selection' });
    const chat = cluster.node('box').requests.slice(before).find((r) => r.path === '/api/chat');
    const body = chat?.body as { messages: { role: string; content: string }[] };
    const last = body.messages.at(-1);
    assert.ok(last?.content.startsWith('explain this\n\nSelection from src/math.ts (lines 1-2):'), last?.content);
    assert.ok(last?.content.includes(selected));
    assert.equal(of('chat/user')[0]?.text, 'explain this\n\n(Selection from src/math.ts (lines 1-2) attached)');
  });

  it('Insert puts code at the cursor of the active editor', async () => {
    const doc = await vscode.workspace.openTextDocument({ content: 'before\n', language: 'typescript' });
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(1, 0, 1, 0);
    await hooks.receive({ type: 'chat/insert', code: 'const inserted = 1;\n' });
    assert.equal(doc.getText(), 'before\nconst inserted = 1;\n');
  });

  it('keeps the history: a reloaded webview gets every exchange back on ready', async () => {
    // Its own two exchanges, one with a denied write, rather than what the tests before left.
    await hooks.receive({ type: 'chat/new' });
    await hooks.receive({ type: 'chat/send', text: 'an answer for the history', tier: 1 });
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder);
    const target = path.join(folder, 'history-denied.txt');
    writeFileSync(target, 'original\n');
    hooks.setApprover(new ScriptedApprover({ edit: false }));
    cluster.ollama('box').setOptions({ toolCalls: [{ name: 'write_file', arguments: { path: 'history-denied.txt', content: 'pwned' } }] });
    try {
      await hooks.receive({ type: 'chat/send', text: 'overwrite history-denied.txt', tier: 1 });
    } finally {
      cluster.ollama('box').setOptions({ toolCalls: undefined });
      hooks.setApprover(undefined);
      rmSync(target, { force: true });
    }
    posted = [];
    await hooks.receive({ type: 'ready' });
    const entries = of('chat/history').at(-1)?.entries ?? [];
    assert.ok(entries.length >= 4, JSON.stringify(entries));
    const first = entries.find((e) => e.role === 'assistant' && e.label === 'tier 1 · box · chosen tier');
    assert.ok(first, 'the answers keep their labels');
    assert.ok(entries.some((e) => e.toolSteps?.some((t) => t.name === 'write_file' && t.status === 'denied')));
  });

  it('a tool path outside the workspace is refused by the editor-side Workspace', async () => {
    cluster.ollama('box').setOptions({ toolCalls: [{ name: 'read_file', arguments: { path: '../../etc/passwd' } }] });
    try {
      // The fake asks for tools only while the conversation has no tool result yet: start afresh.
      await hooks.receive({ type: 'chat/new' });
      await hooks.receive({ type: 'chat/send', text: 'read a file outside', tier: 1 });
      const done = of('chat/toolStep').find((s) => s.status !== 'running');
      assert.equal(done?.status, 'error', JSON.stringify(posted));
      assert.match(done?.result ?? '', /outside the workspace/);
    } finally {
      cluster.ollama('box').setOptions({ toolCalls: undefined });
    }
  });

  it('New Chat clears the history', async () => {
    await hooks.receive({ type: 'chat/new' });
    assert.deepEqual(of('chat/history').at(-1)?.entries, []);
  });
});
