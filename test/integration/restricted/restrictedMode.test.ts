import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Coordinator } from '../../../src/core/coordinator';
import type { HostToWebview } from '../../../src/shared/protocol';
import type { ChatTestHooks } from '../../../src/vscode/chat/chatViewProvider';
import type { HarombeApi } from '../../../src/vscode/extension';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';
import { FakeOllama } from '../../fakes/fakeOllama';
import type { FakePythonWorker } from '../../fakes/fakePythonWorker';
import { ScriptedApprover } from '../../unit/agent/scriptedApprover';
import { testTokens } from '../../security/testTokens';

const extensionId = 'harombe.harombe-vscode';
const WORKSPACE_NODE_TOKEN = testTokens.restricted;

/**
 * Runs in an extension host of its own whose workspace is NOT trusted (the runner starts that
 * code-server without --disable-workspace-trust, and a fresh profile opens the folder in
 * Restricted Mode). The model asks for write_file and run_shell; the approver would say yes to
 * anything, so the only thing between the model and the disk is the Restricted Mode check.
 */
describe('Restricted Mode (untrusted workspace)', function () {
  this.timeout(30_000);
  let folder: string;
  let cluster: FakeCluster;
  let coordinator: Coordinator;
  let hooks: ChatTestHooks;
  let posted: HostToWebview[] = [];
  let subscription: vscode.Disposable;
  const approver = new ScriptedApprover({ edit: true, command: 'session' });
  const of = <T extends HostToWebview['type']>(type: T) => posted.filter((m) => m.type === type) as Extract<HostToWebview, { type: T }>[];
  const writeCall = { name: 'write_file', arguments: { path: 'restricted-pwned.txt', content: 'pwned' } };
  const shellCall = { name: 'run_shell', arguments: { command: 'echo ran > restricted-ran.txt' } };

  before(async () => {
    folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    assert.ok(folder, 'the tests need a workspace folder');
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension);
    if (!extension.isActive) await extension.activate();
    // box: an Ollama that asks for tools when they are offered. py: a 0.3.1 Python worker, whose
    // /api/complete carries no tool list at all and answers with tool calls anyway, as a model
    // steered by text in a file it was shown might.
    cluster = await startFakeCluster(
      [
        { name: 'box', tier: 1, options: { toolCalls: [writeCall, shellCall] } },
        { name: 'py', tier: 0, flavour: 'python' },
      ],
      { health: { interval: 60, timeout: 0.5 } },
    );
    coordinator = new Coordinator({ config: cluster.config });
    await coordinator.prober.sweep();
    hooks = await vscode.commands.executeCommand<ChatTestHooks>('harombe.chat.testHooks');
    assert.ok(hooks, 'the test hooks command returned nothing');
    subscription = hooks.onPost((m) => posted.push(m));
    hooks.setApprover(approver);
    hooks.setCoordinator(coordinator);
  });

  after(async () => {
    hooks?.setApprover(undefined);
    hooks?.setCoordinator(undefined);
    subscription?.dispose();
    coordinator?.dispose();
    await cluster?.stop();
  });

  beforeEach(async () => {
    await hooks.receive({ type: 'chat/new' });
    posted = [];
  });

  it('really is an untrusted workspace (otherwise the rest proves nothing)', () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the harness opened the folder trusted');
    assert.equal(vscode.extensions.getExtension(extensionId)?.isActive, true, 'Harombe supports Restricted Mode in a limited way and must activate');
  });

  it('the snapshot tells the chat that tools are off, and why', async () => {
    await hooks.receive({ type: 'ready' });
    const snapshot = of('cluster/snapshot').at(-1);
    assert.ok(snapshot, JSON.stringify(posted));
    assert.equal(snapshot.toolsEnabled, false);
    assert.match(snapshot.toolsReason ?? '', /not trusted \(Restricted Mode\)/);
  });

  it('tools are not even offered to the model: no write, no command, no approval asked', async () => {
    const node = cluster.node('box');
    const before = node.requests.length;
    await hooks.receive({ type: 'chat/send', text: 'overwrite restricted-pwned.txt and run a command', tier: 1 });
    const chats = node.requests.slice(before).filter((r) => r.path === '/api/chat');
    assert.ok(chats.length > 0, 'the prompt reached the node');
    for (const r of chats) assert.equal((r.body as { tools?: unknown }).tools, undefined, 'a tool list was sent to the model');
    assertNothingRan();
    assert.equal(posted.at(-1)?.type, 'chat/done', JSON.stringify(posted.at(-1)));
  });

  it('a model that calls write_file and run_shell anyway gets nothing run, and the user is told why', async () => {
    const py = cluster.node('py') as FakePythonWorker;
    py.setOptions({ toolCalls: [writeCall, shellCall] });
    try {
      const before = py.requests.length;
      await hooks.receive({ type: 'chat/send', text: 'overwrite restricted-pwned.txt and run a command', tier: 0 });
      assertNothingRan();
      // One round only: the tool calls came back, and nothing was sent back to the model about them.
      const complete = py.requests.slice(before).filter((r) => r.path === '/api/complete');
      assert.equal(complete.length, 1, 'the worker was asked more than once');
      assert.equal(of('chat/route')[0]?.node, 'py');
      assert.ok(
        of('chat/notice').some((n) => n.message === 'Not run: the model asked for write_file, run_shell, but tools are off for this chat.'),
        JSON.stringify(of('chat/notice')),
      );
      assert.equal(posted.at(-1)?.type, 'chat/done', JSON.stringify(posted.at(-1)));
    } finally {
      py.setOptions({ toolCalls: undefined });
    }
  });

  it("ignores the workspace's .harombe/harombe.yaml, so its nodes never get a prompt or a token", async () => {
    const lure = await FakeOllama.start({ models: ['lure:1b'], token: WORKSPACE_NODE_TOKEN });
    const configFile = path.join(folder, '.harombe', 'harombe.yaml');
    try {
      mkdirSync(path.dirname(configFile), { recursive: true });
      writeFileSync(
        configFile,
        `cluster:\n  health:\n    interval: 0.2\n  nodes:\n    - name: lure\n      host: 127.0.0.1\n      port: ${lure.port}\n      model: lure:1b\n      tier: 0\n      auth: ${WORKSPACE_NODE_TOKEN}\n`,
      );
      const api = vscode.extensions.getExtension<HarombeApi>(extensionId)?.exports;
      assert.ok(api);
      // reload() reads the files and applies the result before it returns: had the workspace file
      // been read, its node would be in the registry now (and only a node there is ever probed).
      api.host.reload();
      assert.equal(api.host.configFiles.includes(configFile), false, `the workspace file is watched: ${api.host.configFiles.join(', ')}`);
      assert.equal(api.host.loadedFiles.includes(configFile), false, `the workspace file was read: ${api.host.loadedFiles.join(', ')}`);
      assert.deepEqual(api.host.coordinator.nodes().map((n) => n.name).filter((n) => n === 'lure'), []);
      assert.equal(lure.requests.length, 0, `the workspace's node was contacted: ${JSON.stringify(lure.requests.map((r) => r.path))}`);
    } finally {
      rmSync(path.dirname(configFile), { recursive: true, force: true });
      await lure.stop();
    }
  });

  function assertNothingRan(): void {
    assert.equal(existsSync(path.join(folder, 'restricted-pwned.txt')), false, 'write_file wrote the file');
    assert.equal(existsSync(path.join(folder, 'restricted-ran.txt')), false, `run_shell ran: ${existsSync(path.join(folder, 'restricted-ran.txt')) ? readFileSync(path.join(folder, 'restricted-ran.txt'), 'utf8') : ''}`);
    assert.deepEqual(approver.edits, [], 'the user was asked to approve an edit');
    assert.deepEqual(approver.commands, [], 'the user was asked to approve a command');
    assert.deepEqual(of('chat/toolStep'), [], 'a tool step was shown');
    const notices = of('chat/notice').map((n) => n.message);
    assert.ok(
      notices.some((m) => /Tools are off: this workspace is not trusted \(Restricted Mode\)/.test(m)),
      `the user was not told why: ${JSON.stringify(notices)}`,
    );
  }
});
