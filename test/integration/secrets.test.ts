import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import * as vscode from 'vscode';
import type { NodeTestResult } from '../../src/core/nodes/testNodes';
import type { HostToWebview } from '../../src/shared/protocol';
import type { ChatTestHooks } from '../../src/vscode/chat/chatViewProvider';
import type { HarombeApi } from '../../src/vscode/extension';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import { findTokens, redactTokens, testTokens } from '../security/testTokens';
import { until } from './until';

const extensionId = 'harombe.harombe-vscode';

/**
 * The extension with nodes that carry tokens: one that accepts its token, one that rejects its
 * token with 401, one nothing listens on, one whose token comes from Set Node Token. Everything it
 * logs goes to the "Harombe" output channel (at trace level: test/integration/index.ts sets it),
 * which code-server writes under the run's user-data/logs; `npm run test:secrets` greps that file
 * for the tokens after the run. Here, what the tests can see directly (results, messages to the
 * chat) is checked in place.
 */
describe('secrets: nodes with tokens, as the extension uses them', function () {
  this.timeout(30_000);
  let api: HarombeApi;
  let cluster: FakeCluster;
  let hooks: ChatTestHooks;
  let configFile: string;
  let previousConfig: string | undefined;
  const posted: HostToWebview[] = [];
  let subscription: vscode.Disposable | undefined;
  const node = (name: string) => api.host.config.cluster.nodes.find((n) => n.name === name);

  before(async () => {
    const extension = vscode.extensions.getExtension<HarombeApi>(extensionId);
    assert.ok(extension);
    api = extension.isActive ? extension.exports : await extension.activate();
    cluster = await startFakeCluster(
      [
        { name: 'tok-accepts', tier: 0, options: { token: testTokens.node } },
        { name: 'tok-rejects', tier: 1, options: { token: testTokens.worker } },
        { name: 'tok-stored', tier: 2, flavour: 'harombe', options: { token: testTokens.stored } },
      ],
      { health: { interval: 0.5, timeout: 0.5 }, timeouts: { connect: 1 } },
    );
    const raw = JSON.parse(cluster.yaml) as { cluster: { nodes: Record<string, unknown>[] } };
    const auth: Record<string, string> = { 'tok-accepts': testTokens.node, 'tok-rejects': testTokens.rejected };
    for (const n of raw.cluster.nodes) if (auth[n.name as string]) n.auth = auth[n.name as string];
    raw.cluster.nodes.push({ name: 'tok-dead', host: '127.0.0.1', port: 1, model: 'qwen2.5:3b', tier: 0, kind: 'ollama', auth: testTokens.dead });

    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder, 'the tests need a workspace folder');
    configFile = path.join(folder, '.harombe', 'harombe.yaml');
    previousConfig = existsSync(configFile) ? readFileSync(configFile, 'utf8') : undefined;
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, `# written by secrets.test.ts\n${JSON.stringify(raw, null, 2)}\n`);
    api.host.reload();
    await until('the nodes with tokens to be loaded', () => node('tok-accepts')?.auth === testTokens.node && node('tok-dead') !== undefined);
    hooks = await vscode.commands.executeCommand<ChatTestHooks>('harombe.chat.testHooks');
    subscription = hooks.onPost((m) => posted.push(m));
  });

  after(async () => {
    subscription?.dispose();
    if (configFile) {
      if (previousConfig === undefined) rmSync(configFile, { force: true });
      else writeFileSync(configFile, previousConfig);
      api?.host.reload();
    }
    await cluster?.stop();
  });

  it('health: the accepting node is available, the rejecting and the dead ones are not', async () => {
    const state = (name: string) => api.host.coordinator.nodes().find((n) => n.name === name)?.state;
    await until('tok-accepts available', () => state('tok-accepts') === 'available');
    await until('tok-dead unavailable', () => state('tok-dead') === 'unavailable');
    assertClean(inspect(api.host.coordinator.nodes(), { depth: 6 }), 'node info');
  });

  it('Test Cluster: the token is sent, a 401 and a refused connection are reported without it', async () => {
    const accepts = cluster.node('tok-accepts');
    const rejects = cluster.node('tok-rejects');
    const before = { accepts: accepts.requests.length, rejects: rejects.requests.length };
    const results = await vscode.commands.executeCommand<NodeTestResult[]>('harombe.testCluster');
    const byName = new Map(results.map((r) => [r.node, r]));
    assert.equal(byName.get('tok-accepts')?.ok, true, inspect(results));
    assert.equal(byName.get('tok-rejects')?.ok, false);
    assert.equal(byName.get('tok-dead')?.ok, false);
    // The positive control: the tokens really travelled, so their absence from the logs means something.
    assert.ok(accepts.requests.slice(before.accepts).some((r) => r.headers.authorization === `Bearer ${testTokens.node}`));
    assert.ok(rejects.requests.slice(before.rejects).some((r) => r.headers.authorization === `Bearer ${testTokens.rejected}`));
    assertClean(inspect(results, { depth: 6 }), 'the test results');
    // Test Node shows its result in a notification, built from the same detail.
    const single = await vscode.commands.executeCommand<NodeTestResult>('harombe.testNode', 'tok-rejects');
    assert.equal(single?.ok, false);
    assertClean(inspect(single), 'Test Node');
  });

  it('chat: an answer through the accepting node, and a prompt whose node answers 401', async () => {
    posted.length = 0;
    await hooks.receive({ type: 'chat/new' });
    await hooks.receive({ type: 'chat/send', text: 'hello with a token', tier: 0 });
    await hooks.receive({ type: 'chat/send', text: 'hello to the node that refuses my token', tier: 1 });
    assert.ok(posted.some((m) => m.type === 'chat/done'), inspect(posted));
    assert.ok(cluster.node('tok-rejects').requests.some((r) => r.path === '/api/chat'), 'the tier 1 prompt went to the rejecting node first');
    assertClean(inspect(posted, { depth: 6 }), 'messages to the chat view');
  });

  it('Set Node Token: the stored token reaches the node; setting and removing it logs no token', async () => {
    const stored = cluster.node('tok-stored');
    assert.equal(await vscode.commands.executeCommand('harombe.setNodeToken', 'tok-stored', testTokens.stored), true);
    await until('the stored token to be in use', () => node('tok-stored')?.auth === testTokens.stored);
    const before = stored.requests.length;
    const [r] = await api.host.testNodes(['tok-stored']);
    assert.equal(r?.ok, true, inspect(r));
    assert.ok(stored.requests.slice(before).some((q) => q.headers.authorization === `Bearer ${testTokens.stored}`));
    assert.doesNotMatch(readFileSync(configFile, 'utf8'), new RegExp(testTokens.stored));
    await vscode.commands.executeCommand('harombe.setNodeToken', 'tok-stored', '');
    await until('the stored token to be gone', () => node('tok-stored')?.auth === undefined);
  });

  it('a broken edit of a config with tokens is reported without them', async () => {
    const good = readFileSync(configFile, 'utf8');
    try {
      writeFileSync(configFile, good.replace(`"auth": "${testTokens.node}"`, `"auth": ["${testTokens.node}"]`).replace('"tier": 2', '"tier": "two"'));
      const uri = vscode.Uri.file(configFile);
      const diagnostics = await until('a diagnostic on harombe.yaml', () => {
        const d = vscode.languages.getDiagnostics(uri);
        return d.length > 0 ? d : undefined;
      });
      assertClean(inspect(diagnostics, { depth: 6 }), 'the diagnostics');
    } finally {
      writeFileSync(configFile, good);
      await until('the diagnostic to clear', () => vscode.languages.getDiagnostics(vscode.Uri.file(configFile)).length === 0);
    }
  });
});

function assertClean(text: string, what: string): void {
  const hits = findTokens(text);
  assert.equal(hits.length, 0, `${what} contain(s) a token: ${redactTokens(text).slice(0, 2000)}`);
}
