import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ChatTestHooks } from '../../src/vscode/chat/chatViewProvider';
import type { HarombeApi } from '../../src/vscode/extension';
import { startFakeCluster, type FakeCluster } from '../fakes/fakeCluster';
import type { FakeMessage } from '../fakes/fakeReply';
import { testMetrics } from './testMetrics';
import { until } from './until';
import { retryLog } from '../vscode/retryLog';

const extensionId = 'harombe.harombe-vscode';

const refactored = `export function clamp(value: number, min: number, max: number): number {
  if (min > max) throw new RangeError(\`min \${min} is greater than max \${max}\`);
  if (value < min) return min;
  return value > max ? max : value;
}`;

/** Answers like a chatty model: prose around a fenced block, plus a usage example the extractor must skip. */
function reply(messages: FakeMessage[], model: string): string {
  const last = String(messages[messages.length - 1]?.content ?? '');
  if (last.startsWith('Write ')) return `Here are the tests (${model}):\n\n\`\`\`ts\nimport { clamp } from './math';\nit('clamps', () => clamp(5, 0, 1));\n\`\`\`\n`;
  if (last.startsWith('Explain')) return `**clamp** keeps a value between min and max (answered by ${model}).`;
  return `Sure! Here is a clearer version (${model}):\n\n\`\`\`typescript\n${refactored}\n\`\`\`\n\nUse it like:\n\n\`\`\`sh\nnpx tsx math.ts\n\`\`\`\n`;
}

describe('code actions: refactor, tests, explain', function () {
  this.timeout(30_000);
  let api: HarombeApi;
  let cluster: FakeCluster;
  let folder: string;
  let mathFile: string;
  let original: string;

  before(async () => {
    const extension = vscode.extensions.getExtension<HarombeApi>(extensionId);
    assert.ok(extension);
    api = extension.isActive ? extension.exports : await extension.activate();
    cluster = await startFakeCluster(
      [
        { name: 'small', tier: 0, options: { reply } },
        { name: 'big', tier: 2, options: { reply } },
      ],
      { health: { interval: 0.3, timeout: 0.5 } },
    );
    folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    assert.ok(folder);
    mkdirSync(path.join(folder, '.harombe'), { recursive: true });
    writeFileSync(path.join(folder, '.harombe', 'harombe.yaml'), cluster.yaml);
    await until('small and big to be available', () => {
      const nodes = api.host.coordinator.nodes();
      return nodes.length === 2 && nodes.every((n) => n.state === 'available' && n.latencyMs !== undefined && n.port === cluster.node(n.name).port);
    });
    mathFile = path.join(folder, 'src', 'math.ts');
    original = readFileSync(mathFile, 'utf8');
  });

  afterEach(() => {
    api.proposals.autoDecide = undefined;
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await cluster?.stop();
  });

  const selectClamp = async (): Promise<{ editor: vscode.TextEditor; range: vscode.Range }> => {
    const doc = await vscode.workspace.openTextDocument(mathFile);
    const editor = await vscode.window.showTextDocument(doc);
    const start = doc.getText().indexOf('export function clamp');
    const range = new vscode.Range(doc.positionAt(start), doc.positionAt(doc.getText().lastIndexOf('}') + 1));
    editor.selection = new vscode.Selection(range.start, range.end);
    return { editor, range };
  };

  /** The editor's own lightbulb request can cancel ours right after a document opens; ask again then. */
  const codeActionsAt = async (uri: vscode.Uri, range: vscode.Range): Promise<vscode.CodeAction[]> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, range);
      } catch (error) {
        if (attempt >= 5 || !/Canceled/.test(String(error))) throw error;
        retryLog.record('integration', 'code actions: the editor cancelled vscode.executeCodeActionProvider', attempt + 1, String(error));
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };

  it('offers the three actions on a selection, none without one', async () => {
    const { editor, range } = await selectClamp();
    const actions = await codeActionsAt(editor.document.uri, range);
    const ours = actions.filter((a) => a.title.startsWith('Harombe:')).map((a) => a.title);
    assert.deepEqual(ours, ['Harombe: Refactor with Tier…', 'Harombe: Generate Tests', 'Harombe: Explain']);
    const empty = new vscode.Range(range.start, range.start);
    const none = await codeActionsAt(editor.document.uri, empty);
    assert.equal(none.filter((a) => a.title.startsWith('Harombe:')).length, 0);
  });

  it('Refactor with Tier: rejecting leaves the file alone', async () => {
    const { editor } = await selectClamp();
    api.proposals.autoDecide = 'reject';
    const outcome = await vscode.commands.executeCommand('harombe.refactorWithTier', { tier: 2, instruction: 'Avoid nested Math calls.' });
    assert.equal(outcome, 'reject');
    assert.equal(editor.document.getText(), original);
  });

  it('Refactor with Tier: accepting applies the code block as one undoable edit', async () => {
    const { editor, range } = await selectClamp();
    api.proposals.autoDecide = 'accept';
    const big = cluster.node('big');
    const asked = big.requests.length;
    const started = performance.now();
    const outcome = await vscode.commands.executeCommand('harombe.refactorWithTier', { uri: editor.document.uri, range, tier: 2, instruction: 'Avoid nested Math calls.' });
    testMetrics.record('codeAction.refactorMs', performance.now() - started);
    assert.equal(outcome, 'accept');
    const doc = await vscode.workspace.openTextDocument(mathFile);
    assert.ok(doc.getText().includes(refactored), doc.getText());
    assert.ok(doc.getText().startsWith('// A small source file'), 'the text outside the selection is kept');
    assert.doesNotMatch(doc.getText(), /npx tsx/, 'the usage example is not code to apply');
    assert.ok(big.requests.slice(asked).some((r) => r.method === 'POST'), 'tier 2 (big) answered');
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original);
  });

  it('Refactor with Tier against a reasoning node proposes the final code, not the longer draft from its reasoning', async () => {
    const draft = `${refactored.replace('export function clamp', 'export function clampDraft')}\n// draft: checked every branch twice\n// and left notes for myself here`;
    cluster.ollama('big').setOptions({ reasoning: { in: 'content', text: `Let me draft it first:\n\n\`\`\`typescript\n${draft}\n\`\`\`\n\nNow the clean version.` } });
    try {
      const { editor, range } = await selectClamp();
      api.proposals.autoDecide = 'accept';
      const outcome = await vscode.commands.executeCommand('harombe.refactorWithTier', { uri: editor.document.uri, range, tier: 2, instruction: 'Avoid nested Math calls.' });
      assert.equal(outcome, 'accept');
      const doc = await vscode.workspace.openTextDocument(mathFile);
      assert.ok(doc.getText().includes(refactored), doc.getText());
      assert.doesNotMatch(doc.getText(), /clampDraft|draft:/, 'nothing from the reasoning');
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('undo');
      assert.equal(doc.getText(), original);
    } finally {
      cluster.ollama('big').setOptions({ reasoning: undefined });
    }
  });

  it('Refactor with Tier: a dead tier falls back gracefully to another', async () => {
    await cluster.node('big').setFault({ type: 'refuse' });
    await until('big to be unavailable', () => api.host.coordinator.registry.get('big')?.state === 'unavailable');
    const { editor, range } = await selectClamp();
    api.proposals.autoDecide = 'accept';
    const small = cluster.node('small');
    const asked = small.requests.length;
    const outcome = await vscode.commands.executeCommand('harombe.refactorWithTier', { uri: editor.document.uri, range, tier: 2, instruction: 'Simplify.' });
    assert.equal(outcome, 'accept');
    assert.ok(small.requests.slice(asked).some((r) => r.method === 'POST'), 'tier 0 (small) answered instead');
    await vscode.commands.executeCommand('undo');
    await cluster.node('big').setFault({ type: 'none' });
    await until('big to be back', () => api.host.coordinator.registry.get('big')?.state === 'available');
  });

  it('Generate Tests proposes a test file next to the code and creates it on accept', async () => {
    const { editor, range } = await selectClamp();
    api.proposals.autoDecide = 'accept';
    const testFile = path.join(folder, 'src', 'math.test.ts');
    assert.equal(existsSync(testFile), false);
    const outcome = await vscode.commands.executeCommand('harombe.generateTests', { uri: editor.document.uri, range });
    assert.equal(outcome, 'accept');
    const doc = await vscode.workspace.openTextDocument(testFile);
    assert.match(doc.getText(), /import \{ clamp \} from '\.\/math';/);
    await doc.save();
    assert.equal(existsSync(testFile), true);
  });

  it('Explain asks in the chat, with the selection attached', async () => {
    const { editor, range } = await selectClamp();
    const hooks = await vscode.commands.executeCommand<ChatTestHooks>('harombe.chat.testHooks');
    // The chat's own tests may have left a scripted coordinator in place; this test wants the real one.
    hooks.setCoordinator(undefined);
    const posted: { type: string; text?: string }[] = [];
    const listening = hooks.onPost((m) => posted.push(m));
    try {
      const outcome = await vscode.commands.executeCommand('harombe.explain', { uri: editor.document.uri, range });
      assert.equal(outcome, 'answered');
    } finally {
      listening.dispose();
    }
    assert.match(JSON.stringify(posted.filter((m) => m.type === 'chat/user')), /Explain what this typescript code does/);
    const answer = posted.filter((m) => m.type === 'chat/delta').map((m) => m.text).join('');
    assert.match(answer, /keeps a value between min and max/, `the fake node's answer reached the chat; posted: ${JSON.stringify(posted).slice(0, 500)}`);
    assert.ok(posted.some((m) => m.type === 'chat/done'));
  });
});
