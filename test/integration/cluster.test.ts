import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HarombeApi } from '../../src/vscode/extension';
import type { NodesTreeElement } from '../../src/vscode/nodesTree';
import type { NodeTestResult } from '../../src/core/nodes/testNodes';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import { testTokens } from '../security/testTokens';
import { testMetrics } from './testMetrics';
import { until } from './until';

const extensionId = 'harombe.harombe-vscode';

describe('cluster UI: tree, status bar, commands', function () {
  this.timeout(30_000);
  let api: HarombeApi;
  let cluster: FakeCluster;
  let configFile: string;

  const treeLabels = (): string[] => {
    const tree = api.nodesTree;
    return tree.getChildren().flatMap((tier) => [
      String(tree.getTreeItem(tier).label),
      ...tree.getChildren(tier).map((n) => `  ${String(tree.getTreeItem(n).label)} [${tree.getTreeItem(n).contextValue}] ${String(tree.getTreeItem(n).description)}`),
    ]);
  };
  const nodeItem = (name: string) => api.nodesTree.getTreeItem({ type: 'node', name } as NodesTreeElement);

  before(async () => {
    const extension = vscode.extensions.getExtension<HarombeApi>(extensionId);
    assert.ok(extension);
    api = extension.isActive ? extension.exports : await extension.activate();
    cluster = await startFakeCluster(
      [
        { name: 'laptop', tier: 0 },
        { name: 'desktop', tier: 1 },
        { name: 'gpu-box', tier: 2 },
      ],
      { health: { interval: 0.3, timeout: 0.5 }, circuit_breaker: { failure_threshold: 1, timeout: 30 } },
    );
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder, 'the tests need a workspace folder');
    configFile = path.join(folder, '.harombe', 'harombe.yaml');
    mkdirSync(path.dirname(configFile), { recursive: true });
    writeFileSync(configFile, `# written by cluster.test.ts\n${cluster.yaml}`);
    const started = performance.now();
    await until('the three fake nodes to be available', () => api.host.coordinator.nodes().filter((n) => n.state === 'available' && n.latencyMs !== undefined).length === 3);
    testMetrics.record('cluster.configToAvailableMs', performance.now() - started);
  });

  after(async () => {
    await cluster?.stop();
  });

  // Each test starts from the healthy cluster, whatever the test before left behind (a test that
  // fails half-way leaves its faults and open breakers, and every later test would fail with it).
  const NODES = ['laptop', 'desktop', 'gpu-box'];
  beforeEach(async () => {
    await Promise.all(NODES.map((n) => cluster.node(n).setFault({ type: 'none' })));
    for (const n of NODES) if (api.host.coordinator.registry.get(n)?.breaker.state !== 'closed') await vscode.commands.executeCommand('harombe.resetBreaker', n);
    await until('the three fake nodes to be available', () => NODES.every((n) => api.host.coordinator.registry.get(n)?.state === 'available'));
  });

  it('shows tiers, then nodes, with state, model, latency and load', () => {
    const labels = treeLabels();
    assert.deepEqual(
      labels.map((l) => l.replace(/ \d+ ms/, ' N ms')),
      [
        'Tier 0 · fast',
        '  laptop [node:available] qwen2.5:3b · 16k · N ms · 0/4 running (local)',
        'Tier 1 · balanced',
        '  desktop [node:available] qwen2.5:14b · 16k · N ms · 0/4 running (local)',
        'Tier 2 · powerful',
        '  gpu-box [node:available] qwen2.5:72b · 16k · N ms · 0/4 running (local)',
      ],
    );
    const item = nodeItem('gpu-box');
    assert.ok(item.iconPath instanceof vscode.ThemeIcon);
    assert.equal(item.iconPath.id, 'pass-filled');
    const tooltip = item.tooltip as vscode.MarkdownString;
    assert.match(tooltip.value, /127\.0\.0\.1:\d+ \(ollama\)/);
    assert.match(tooltip.value, /Source: config file/);
    assert.match(tooltip.value, /Circuit: closed/);
  });

  it('counts available nodes in the status bar', () => {
    assert.equal(api.statusBar.text, '$(server) 3/3');
    assert.equal(api.statusBar.background, undefined);
  });

  it('Test Cluster sends every node a prompt and reports each one', async () => {
    const started = performance.now();
    const results = await vscode.commands.executeCommand<NodeTestResult[]>('harombe.testCluster');
    testMetrics.record('command.testClusterMs', performance.now() - started);
    assert.deepEqual(results.map((r) => [r.node, r.ok]).sort(), [['desktop', true], ['gpu-box', true], ['laptop', true]]);
    for (const r of results) assert.match(r.detail, /Hello from qwen2\.5/);
  });

  it('a killed node turns unavailable in the tree and the status bar, and comes back', async () => {
    await cluster.node('gpu-box').setFault({ type: 'refuse' });
    const started = performance.now();
    await until('gpu-box to show as unavailable', () => nodeItem('gpu-box').contextValue === 'node:unavailable');
    testMetrics.record('tree.killToUnavailableMs', performance.now() - started);
    const item = nodeItem('gpu-box');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'error');
    assert.match(String((item.tooltip as vscode.MarkdownString).value), /Why: /);
    await until('the status bar to count 2/3', () => api.statusBar.text === '$(server) 2/3');
    assert.equal(api.statusBar.background, 'statusBarItem.warningBackground');
    assert.equal(api.nodesTree.getTreeItem({ type: 'tier', tier: 2 }).description, '0/1 available');

    const [test] = (await vscode.commands.executeCommand<NodeTestResult[]>('harombe.testCluster')).filter((r) => r.node === 'gpu-box');
    assert.equal(test?.ok, false);
    // Tier 2 is down: a tier 2 request is answered by the next tier in the fallback order.
    const answered: string[] = [];
    for await (const e of api.host.coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier: 2 })) if (e.type === 'done') answered.push(e.node);
    // 2 → 1 → 0: the tier 1 node answers, once (an empty list would mean nothing answered at all).
    assert.deepEqual(answered, ['desktop'], 'the next tier in the fallback order answered');

    await cluster.node('gpu-box').setFault({ type: 'none' });
    await vscode.commands.executeCommand('harombe.resetBreaker', 'gpu-box');
    await until('gpu-box to be available again', () => nodeItem('gpu-box').contextValue === 'node:available');
    await until('the status bar to count 3/3', () => api.statusBar.text === '$(server) 3/3');
  });

  it('a node that fails requests while its health looks fine gets an open breaker, shown with its countdown', async () => {
    await cluster.node('desktop').setFault({ type: 'die_before_headers' });
    // The breaker settings in effect are the ones the coordinator started with (the core does not
    // re-apply circuit_breaker on reload), so fail as many requests as it takes, each one falling back.
    for (let i = 0; i < 10 && api.host.coordinator.registry.get('desktop')?.breaker.state !== 'open'; i++) {
      const events: string[] = [];
      for await (const e of api.host.coordinator.complete({ messages: [{ role: 'user', content: 'hi' }], tier: 1 })) events.push(e.type === 'done' ? `done:${e.node}` : e.type);
      assert.ok(events.includes('fallback') || !events.some((e) => e === 'done:desktop'), events.join(','));
    }
    await until('desktop to show the open circuit', () => /circuit open, retry in \d+ s/.test(String(nodeItem('desktop').description)));
    assert.equal((nodeItem('desktop').iconPath as vscode.ThemeIcon).id, 'circle-slash');
    assert.match((nodeItem('desktop').tooltip as vscode.MarkdownString).value, /Circuit: circuit open, retry in/);
    await until('the status bar to count 2/3', () => api.statusBar.text === '$(server) 2/3');
    assert.equal(api.statusBar.background, 'statusBarItem.warningBackground');

    await cluster.node('desktop').setFault({ type: 'none' });
    await vscode.commands.executeCommand('harombe.resetBreaker', 'desktop');
    await until('the circuit to close', () => api.host.coordinator.registry.get('desktop')?.breaker.state === 'closed');
    await until('3/3 again', () => api.statusBar.text === '$(server) 3/3');
  });

  it('all nodes down: error background', async () => {
    await Promise.all(['laptop', 'desktop', 'gpu-box'].map((n) => cluster.node(n).setFault({ type: 'refuse' })));
    await until('0/3', () => api.statusBar.text === '$(server) 0/3');
    assert.equal(api.statusBar.background, 'statusBarItem.errorBackground');
    await Promise.all(['laptop', 'desktop', 'gpu-box'].map((n) => cluster.node(n).setFault({ type: 'none' })));
    await until('3/3 again', () => api.statusBar.text === '$(server) 3/3');
  });

  it('Add Node and Remove Node edit the YAML and keep its comments', async () => {
    await vscode.commands.executeCommand('harombe.addNode', { name: 'spare', host: '127.0.0.1', port: 1, model: 'tiny:1b', tier: 0, kind: 'ollama' });
    let text = readFileSync(configFile, 'utf8');
    assert.match(text, /^# written by cluster\.test\.ts/);
    assert.match(text, /spare/);
    await until('spare in the tree', () => api.nodesTree.getChildren({ type: 'tier', tier: 0 }).length === 2);
    await until('spare unavailable (nothing listens on port 1)', () => nodeItem('spare').contextValue === 'node:unavailable');

    assert.equal(await vscode.commands.executeCommand('harombe.removeNode', 'spare'), true);
    text = readFileSync(configFile, 'utf8');
    assert.match(text, /^# written by cluster\.test\.ts/);
    assert.doesNotMatch(text, /spare/);
    await until('spare gone from the tree', () => api.nodesTree.getChildren({ type: 'tier', tier: 0 }).length === 1);
  });

  it('Set Node Token sends the stored token as a bearer header, and never writes it to the YAML', async () => {
    await vscode.commands.executeCommand('harombe.setNodeToken', 'laptop', testTokens.stored);
    await until('the token to reach the node', () => api.host.config.cluster.nodes.find((n) => n.name === 'laptop')?.auth === testTokens.stored);
    const server = cluster.node('laptop');
    const before = server.requests.length;
    const [r] = await api.host.testNodes(['laptop']);
    assert.equal(r?.ok, true);
    const sent = server.requests.slice(before).filter((q) => q.method === 'POST');
    assert.ok(sent.length > 0);
    assert.equal(sent[0]?.headers.authorization, `Bearer ${testTokens.stored}`);
    assert.doesNotMatch(readFileSync(configFile, 'utf8'), new RegExp(testTokens.stored));
    await vscode.commands.executeCommand('harombe.setNodeToken', 'laptop', '');
    await until('the token to be gone', () => api.host.config.cluster.nodes.find((n) => n.name === 'laptop')?.auth === undefined);
  });

  it('Show Metrics opens a markdown document with every node', async () => {
    const doc = await vscode.commands.executeCommand<vscode.TextDocument>('harombe.showMetrics');
    assert.equal(doc.languageId, 'markdown');
    for (const name of ['laptop', 'desktop', 'gpu-box']) assert.match(doc.getText(), new RegExp(`\\| ${name} \\|`));
    assert.match(doc.getText(), /## Routing by requested tier/);
  });

  it('a broken config keeps the last good one and puts a diagnostic on the line', async () => {
    const good = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, 'cluster:\n  nodes:\n    - name: x\n      host: h\n      model: m\n      tier: nine\n');
    const uri = vscode.Uri.file(configFile);
    const diagnostics = await until('a diagnostic on harombe.yaml', () => {
      const d = vscode.languages.getDiagnostics(uri);
      return d.length > 0 ? d : undefined;
    });
    assert.equal(diagnostics[0]?.range.start.line, 5);
    assert.match(diagnostics[0]?.message ?? '', /tier/);
    assert.equal(api.host.coordinator.nodes().length, 3, 'the last good config stays in use');
    writeFileSync(configFile, good);
    await until('the diagnostic to clear', () => vscode.languages.getDiagnostics(uri).length === 0);
  });
});
