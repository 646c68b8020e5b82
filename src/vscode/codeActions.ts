import { nodeCan } from '../core/nodes/capabilities';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Coordinator } from '../core/coordinator';
import type { Intent, Tier } from '../core/routing/classification';
import type { AnswerDocuments } from './answerDocument';
import { extractCode, fitToSelection } from './extractCode';
import { modelAnswer, type ModelAnswer } from './modelAnswer';
import { nodePresentation, tierNames } from './nodePresentation';
import type { ProposalDecision, ProposedEdits } from './proposedEdits';
import { testTargetFor } from './testFramework';

/** What the code action (or a test) passes; without it the commands use the active editor's selection. */
export interface CodeActionArgs {
  uri?: vscode.Uri;
  range?: vscode.Range;
  tier?: Tier | 'auto';
  instruction?: string;
}

export interface CodeActionDeps {
  coordinator: Coordinator;
  log: vscode.LogOutputChannel;
  proposals: ProposedEdits;
  answers: AnswerDocuments;
  /** Sends a prompt to the chat view, when the chat is there to take it. */
  askInChat?: (prompt: string, context: { label: string; text: string }) => unknown;
}

export type CodeActionOutcome = ProposalDecision | 'cancelled' | 'failed' | 'answered';

const refactorKind = vscode.CodeActionKind.RefactorRewrite.append('harombe');
const testsKind = vscode.CodeActionKind.Refactor.append('harombe.tests');
const explainKind = vscode.CodeActionKind.Empty.append('harombe.explain');

/** Offers Refactor with Tier…, Generate Tests and Explain on any non-empty selection. */
export class HarombeCodeActionProvider implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [refactorKind, testsKind, explainKind] };

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection): vscode.CodeAction[] {
    if (range.isEmpty || document.uri.scheme !== 'file') return [];
    const args: CodeActionArgs = { uri: document.uri, range };
    const action = (title: string, kind: vscode.CodeActionKind, command: string) => {
      const a = new vscode.CodeAction(title, kind);
      a.command = { title, command, arguments: [args] };
      return a;
    };
    return [
      action('Harombe: Refactor with Tier…', refactorKind, 'harombe.refactorWithTier'),
      action('Harombe: Generate Tests', testsKind, 'harombe.generateTests'),
      action('Harombe: Explain', explainKind, 'harombe.explain'),
    ];
  }
}

export function registerCodeActions(deps: CodeActionDeps): vscode.Disposable[] {
  const { coordinator, log, proposals, answers } = deps;

  const refactor = async (args: CodeActionArgs = {}): Promise<CodeActionOutcome> => {
    const target = await selectionOf(args);
    if (!target) return 'failed';
    const tier = args.tier ?? (await pickTier(coordinator, 'refactor'));
    if (tier === undefined) return 'cancelled';
    const instruction =
      args.instruction ??
      (await vscode.window.showInputBox({
        title: 'Harombe: Refactor',
        prompt: 'What should the refactoring do?',
        value: 'Improve readability and structure; keep the behaviour and the public signature.',
      }));
    if (instruction === undefined) return 'cancelled';
    const { doc, range, text } = target;
    const prompt = `${instruction}\n\nRefactor this ${doc.languageId} code from ${path.basename(doc.fileName)}. Answer with only the complete replacement code in one fenced code block.`;
    const answer = await run('Refactoring', coordinator, log, {
      tier,
      intent: 'refactor',
      prompt,
      messages: [
        { role: 'system', content: 'You are a careful refactoring tool. You answer with exactly one fenced code block that replaces the given code, and nothing else.' },
        { role: 'user', content: `${prompt}\n\n\`\`\`${doc.languageId}\n${text}\n\`\`\`` },
      ],
      contextChars: text.length,
    });
    if (typeof answer === 'string') return answer;
    const code = extractCode(answer.text, doc.languageId);
    if (!code) return noCode(answer, log);
    return decide(proposals, log, {
      target: doc.uri,
      range,
      originalText: text,
      newText: fitToSelection(code, text),
      title: `Refactor ${path.basename(doc.fileName)} (tier ${answer.tier}, ${answer.node}${answer.movedForFit ? `: ${answer.movedForFit}` : ''})`,
    });
  };

  const generateTests = async (args: CodeActionArgs = {}): Promise<CodeActionOutcome> => {
    const target = await selectionOf(args);
    if (!target) return 'failed';
    const { doc, text } = target;
    const testTarget = testTargetFor(doc.fileName, doc.languageId, nearestPackageJson(doc.fileName));
    const relative = path.relative(path.dirname(testTarget.testFile), doc.fileName).replace(/\.[jt]sx?$/, '');
    const prompt = `Write ${testTarget.framework} tests for this ${doc.languageId} code. The test file is ${path.basename(testTarget.testFile)}, next to ${path.basename(doc.fileName)} (import it from './${relative}'). Cover normal cases, edge cases and errors. Answer with only the complete test file in one fenced code block.`;
    const answer = await run('Generating tests', coordinator, log, {
      tier: args.tier ?? 2,
      intent: 'tests',
      prompt,
      messages: [
        { role: 'system', content: 'You write thorough, runnable unit tests. You answer with exactly one fenced code block holding the whole test file.' },
        { role: 'user', content: `${prompt}\n\n\`\`\`${testTarget.fence}\n${text}\n\`\`\`` },
      ],
      contextChars: text.length,
    });
    if (typeof answer === 'string') return answer;
    const code = extractCode(answer.text, doc.languageId);
    if (!code) return noCode(answer, log);
    const testUri = vscode.Uri.file(testTarget.testFile);
    const body = code.replace(/\s*$/, '\n');
    if (existsSync(testTarget.testFile)) {
      // An existing test file keeps what it has; the new tests go at its end.
      const existing = await vscode.workspace.openTextDocument(testUri);
      const end = existing.positionAt(existing.getText().length);
      return decide(proposals, log, { target: testUri, range: new vscode.Range(end, end), originalText: '', newText: `\n${body}`, title: `Tests for ${path.basename(doc.fileName)} (tier ${answer.tier}, ${answer.node})` });
    }
    return decide(proposals, log, { target: testUri, newText: body, title: `New ${path.basename(testTarget.testFile)} (tier ${answer.tier}, ${answer.node})` });
  };

  const explain = async (args: CodeActionArgs = {}): Promise<CodeActionOutcome> => {
    const target = await selectionOf(args);
    if (!target) return 'failed';
    const { doc, text } = target;
    const label = `${path.basename(doc.fileName)}:${target.range.start.line + 1}-${target.range.end.line + 1}`;
    const prompt = `Explain what this ${doc.languageId} code does, how, and anything surprising in it.`;
    if (deps.askInChat) {
      try {
        await deps.askInChat(prompt, { label, text });
        return 'answered';
      } catch (error) {
        // The chat view may be unavailable (disabled, failed to load); the answer still has somewhere to go.
        log.warn(`explain: the chat could not take the question (${error instanceof Error ? error.message : String(error)}); answering in a document`);
      }
    }
    const page = await answers.open(`Explain ${label}`, `# Explain ${label}\n\n_Waiting for a node…_\n`);
    const answer = await run(
      'Explaining',
      coordinator,
      log,
      {
        tier: args.tier ?? 'auto',
        intent: 'explain',
        prompt,
        messages: [{ role: 'user', content: `${prompt}\n\n\`\`\`${doc.languageId}\n${text}\n\`\`\`` }],
        contextChars: text.length,
      },
      (sofar, note) => page.update(`# Explain ${label}\n\n${note ? `_${note}_\n\n` : ''}${sofar}`),
    );
    if (typeof answer === 'string') {
      page.update(`# Explain ${label}\n\n_${answer === 'cancelled' ? 'Cancelled.' : 'No node could answer; see the Harombe log.'}_\n`);
      page.flush();
      return answer;
    }
    page.update(`# Explain ${label}\n\n_tier ${answer.tier} · ${answer.node}_\n\n${answer.text}\n`);
    page.flush();
    return 'answered';
  };

  return [
    vscode.languages.registerCodeActionsProvider({ scheme: 'file' }, new HarombeCodeActionProvider(), HarombeCodeActionProvider.metadata),
    vscode.commands.registerCommand('harombe.refactorWithTier', refactor),
    vscode.commands.registerCommand('harombe.generateTests', generateTests),
    vscode.commands.registerCommand('harombe.explain', explain),
  ];
}

/** The tier picker: each tier lists its nodes and their state, so a dead tier is visible before choosing it. */
export async function pickTier(coordinator: Coordinator, intent: Intent): Promise<Tier | 'auto' | undefined> {
  type Item = vscode.QuickPickItem & { tier: Tier | 'auto' };
  const nodes = coordinator.nodes();
  const strict = coordinator.currentConfig.cluster.routing.fallback_strategy === 'strict';
  const items: Item[] = [{ label: '$(sparkle) Auto', description: `the classifier decides (${intent} intent)`, tier: 'auto' }];
  for (const tier of [0, 1, 2] as const) {
    const inTier = nodes.filter((n) => n.tier === tier);
    const up = inTier.filter((n) => nodePresentation.isUp(n));
    const noTools = inTier.length > 0 && inTier.every((n) => nodeCan(n, 'tools') === false);
    const details = [
      up.length > 0 ? undefined : `No available node in tier ${tier}: ${strict ? 'fallback is strict, so this will fail' : 'another tier will answer (graceful fallback)'}`,
      noTools ? `$(tools) The models of tier ${tier} take no tools (${[...new Set(inTier.map((n) => n.model))].join(', ')}): the agent's tools run elsewhere or not at all` : undefined,
    ].filter((d): d is string => d !== undefined);
    items.push({
      label: `${up.length > 0 ? '$(layers)' : '$(warning)'} Tier ${tier} · ${tierNames[tier]}`,
      description: inTier.length === 0 ? 'no nodes' : inTier.map((n) => `${n.name} ${nodePresentation.codicon(n)} ${nodePresentation.status(n)}`).join(', '),
      detail: details.length > 0 ? details.join(' · ') : undefined,
      tier,
    });
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Harombe: Refactor with Tier…', placeHolder: 'Which tier should answer?' });
  return picked?.tier;
}

async function selectionOf(args: CodeActionArgs): Promise<{ doc: vscode.TextDocument; range: vscode.Range; text: string } | undefined> {
  const editor = vscode.window.activeTextEditor;
  const doc = args.uri ? await vscode.workspace.openTextDocument(args.uri) : editor?.document;
  const range = args.range ?? (editor && doc === editor.document ? editor.selection : undefined);
  if (!doc || !range || range.isEmpty) {
    void vscode.window.showInformationMessage('Harombe: select the code first.');
    return undefined;
  }
  return { doc, range, text: doc.getText(range) };
}

/** Runs the request under a cancellable progress notification; 'cancelled'/'failed' instead of an answer. */
async function run(
  what: string,
  coordinator: Coordinator,
  log: vscode.LogOutputChannel,
  request: { tier: Tier | 'auto'; intent: Intent; prompt: string; messages: { role: 'system' | 'user'; content: string }[]; contextChars: number },
  onText?: (text: string, note: string) => void,
): Promise<ModelAnswer | 'cancelled' | 'failed'> {
  const controller = new AbortController();
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Harombe: ${what}…`, cancellable: true }, async (progress, token) => {
      token.onCancellationRequested(() => controller.abort());
      let lastNote = '';
      return modelAnswer(coordinator, { ...request, signal: controller.signal }, (text, note) => {
        if (note) {
          lastNote = note;
          progress.report({ message: note });
          log.info(`${what.toLowerCase()}: ${note}`);
        }
        onText?.(text, lastNote);
      });
    });
  } catch (error) {
    if (controller.signal.aborted) return 'cancelled';
    const message = error instanceof Error ? error.message : String(error);
    log.warn(`${what.toLowerCase()} failed: ${message}`);
    void vscode.window.showErrorMessage(`Harombe: ${what.toLowerCase()} failed. ${message}`, 'Show Nodes', 'Show Logs').then((c) => {
      if (c === 'Show Nodes') void vscode.commands.executeCommand('harombe.nodes.focus');
      else if (c === 'Show Logs') log.show(true);
    });
    return 'failed';
  }
}

async function decide(proposals: ProposedEdits, log: vscode.LogOutputChannel, proposal: Parameters<ProposedEdits['propose']>[0]): Promise<CodeActionOutcome> {
  try {
    const decision = await proposals.propose(proposal);
    log.info(`${proposal.title}: ${decision === 'accept' ? 'accepted' : 'rejected'}`);
    return decision;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    void vscode.window.showErrorMessage(`Harombe: ${message}`);
    return 'failed';
  }
}

function noCode(answer: ModelAnswer, log: vscode.LogOutputChannel): CodeActionOutcome {
  log.warn(`${answer.node} answered without a code block: ${answer.text.slice(0, 200)}`);
  void vscode.window.showWarningMessage(`Harombe: ${answer.node} answered without code, so there is nothing to apply.`, 'Show Logs').then((c) => c && log.show(true));
  return 'failed';
}

function nearestPackageJson(file: string): { dependencies?: Record<string, string>; devDependencies?: Record<string, string> } | undefined {
  let dir = path.dirname(file);
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        return JSON.parse(readFileSync(candidate, 'utf8')) as { dependencies?: Record<string, string> };
      } catch {
        return undefined;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
