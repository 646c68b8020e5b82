import * as vscode from 'vscode';
import { AdaptiveDebounce } from '../core/completion/adaptiveDebounce';
import type { CompletionEngine } from '../core/completion/completionEngine';
import { buildCompletionPrompt, type Snippet } from '../core/completion/completionPrompt';
import { LatencyTracker } from '../core/completion/latencyTracker';
import { Canceller } from '../core/util/canceller';
import type { CoordinatorHost } from './coordinatorHost';

/** What the provider has done, for the status bar tooltip, the metrics view and the tests. */
export interface CompletionStats {
  requested: number;
  shown: number;
  accepted: number;
  cancelled: number;
  hedged: number;
  cacheHits: number;
  /** Keystroke to ghost text, ms, per node. */
  latency: LatencyTracker;
}

const ACCEPTED = 'harombe.completionAccepted';
/** Share of the node's window a completion prompt may take: small prompts answer fast. */
const PROMPT_SHARE = 0.25;
const MAX_PROMPT_TOKENS = 2048;

/**
 * Ghost text from the cluster (VS Code's inline completions). Each keystroke cancels the request
 * before it, end to end: VS Code cancels the token, the token aborts the node's request. The wait
 * before asking adapts to typing speed and the node's latency; a suggestion whose prefix has since
 * changed is never shown (VS Code asks again for the new position instead).
 */
export class HarombeInlineCompletions implements vscode.InlineCompletionItemProvider, vscode.Disposable {
  readonly stats: CompletionStats = { requested: 0, shown: 0, accepted: 0, cancelled: 0, hedged: 0, cacheHits: 0, latency: new LatencyTracker(200) };
  private readonly debounce = new AdaptiveDebounce();
  private readonly lastKeyAt = new Map<string, number>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly statusItem = vscode.window.createStatusBarItem('harombe.completions', vscode.StatusBarAlignment.Right, 100);
  private readonly _onDidChange = new vscode.EventEmitter<void>();
  readonly onDidChange = this._onDidChange.event;

  constructor(
    private readonly engine: CompletionEngine,
    private readonly host: CoordinatorHost,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.statusItem.name = 'Harombe Completions';
    this.statusItem.command = 'harombe.toggleCompletions';
    this.disposables.push(
      this.statusItem,
      this._onDidChange,
      vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, this),
      vscode.commands.registerCommand(ACCEPTED, (node: string) => {
        this.stats.accepted++;
        this.metrics().recordCompletionAccepted();
        this.log.trace(`completion from ${node} accepted`);
        this._onDidChange.fire();
      }),
      vscode.commands.registerCommand('harombe.toggleCompletions', () => this.toggle()),
      vscode.commands.registerCommand('harombe.toggleCompletionsForLanguage', () => this.toggleLanguage()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length === 0) return;
        const now = performance.now();
        this.lastKeyAt.set(e.document.uri.toString(), now);
        this.debounce.keystroke(now);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('harombe.completion')) this.updateStatus();
      }),
      host.onDidChangeNodes(() => this.updateStatus()),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateStatus()),
    );
    this.updateStatus();
  }

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    _context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    if (!this.enabledFor(document.languageId) || document.uri.scheme === 'output') return undefined;
    const file = document.uri.toString();
    const node = this.engine.rankNodes(file)[0];
    if (!node) return undefined;
    const keyAt = this.lastKeyAt.get(file) ?? performance.now();
    const wait = this.debounce.delay(this.engine.latency.quantile(node.name, 0.5)) - (performance.now() - keyAt);
    if (wait > 0 && !(await sleep(wait, token))) return undefined;
    if (token.isCancellationRequested) return undefined;
    const version = document.version;
    const prompt = buildCompletionPrompt(document.getText(), document.offsetAt(position), this.snippets(document), {
      tokens: Math.min(MAX_PROMPT_TOKENS, Math.floor(node.contextWindow.tokens * PROMPT_SHARE)),
    });
    const signal = new Canceller();
    const sub = token.onCancellationRequested(() => signal.abort());
    this.stats.requested++;
    this.metrics().recordCompletionRequested();
    try {
      const result = await this.engine.complete({ file, prompt, signal });
      if (result?.hedged) {
        this.stats.hedged++;
        this.metrics().recordCompletionHedged();
      }
      if (result?.fromCache) this.stats.cacheHits++;
      // Shown only for the text it was asked for: anything typed since makes it stale.
      if (!result || token.isCancellationRequested || document.version !== version) {
        if (token.isCancellationRequested) {
          this.stats.cancelled++;
          this.metrics().recordCompletionCancelled();
        }
        return undefined;
      }
      this.stats.shown++;
      const servedBy = result.node ?? this.engine.rankNodes(file)[0]?.name ?? 'cache';
      const keystrokeToGhost = performance.now() - keyAt;
      this.stats.latency.record(servedBy, keystrokeToGhost);
      this.metrics().recordCompletionShown(servedBy, keystrokeToGhost);
      this._onDidChange.fire();
      this.updateStatus(servedBy);
      const item = new vscode.InlineCompletionItem(result.text, new vscode.Range(position, position));
      item.command = { title: 'Accepted', command: ACCEPTED, arguments: [servedBy] };
      return [item];
    } catch (err) {
      if (token.isCancellationRequested) {
        this.stats.cancelled++;
        this.metrics().recordCompletionCancelled();
      }
      this.log.debug(`completion failed: ${(err as Error).message}`);
      return undefined;
    } finally {
      sub.dispose();
    }
  }

  /** The coordinator's metrics (looked up each time: a config reload replaces the coordinator). */
  private metrics() {
    return this.host.coordinator.metrics;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private enabledFor(languageId: string): boolean {
    const settings = vscode.workspace.getConfiguration('harombe.completion');
    if (!settings.get<boolean>('enabled', true)) return false;
    if (!this.host.coordinator.currentConfig.completion.enabled) return false;
    return !(settings.get<string[]>('disabledLanguages', []) ?? []).includes(languageId);
  }

  /** A few lines of the other visible editors: what the user is looking at is what the code refers to. */
  private snippets(document: vscode.TextDocument): Snippet[] {
    return vscode.window.visibleTextEditors
      .filter((e) => e.document !== document && e.document.uri.scheme === 'file')
      .slice(0, 3)
      .map((e) => ({ filename: vscode.workspace.asRelativePath(e.document.uri), text: e.document.getText(e.visibleRanges[0] ?? new vscode.Range(0, 0, 60, 0)) }));
  }

  private async toggle(): Promise<void> {
    const settings = vscode.workspace.getConfiguration('harombe.completion');
    await settings.update('enabled', !settings.get<boolean>('enabled', true), vscode.ConfigurationTarget.Global);
  }

  private async toggleLanguage(): Promise<void> {
    const language = vscode.window.activeTextEditor?.document.languageId;
    if (!language) return;
    const settings = vscode.workspace.getConfiguration('harombe.completion');
    const off = settings.get<string[]>('disabledLanguages', []) ?? [];
    const next = off.includes(language) ? off.filter((l) => l !== language) : [...off, language];
    await settings.update('disabledLanguages', next, vscode.ConfigurationTarget.Global);
  }

  /** `$(sparkle) laptop` while completions come from the cluster; crossed out when off. */
  private updateStatus(lastNode?: string): void {
    const language = vscode.window.activeTextEditor?.document.languageId;
    const on = this.enabledFor(language ?? '');
    const node = lastNode ?? this.engine.rankNodes()[0]?.name;
    if (!node && on) {
      // No node can fill in the middle: nothing to toggle, nothing to show.
      this.statusItem.hide();
      return;
    }
    this.statusItem.text = on ? `$(sparkle) ${node}` : '$(circle-slash) Completions';
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: ['harombe.toggleCompletions', 'harombe.toggleCompletionsForLanguage', 'harombe.showMetrics'] };
    md.appendMarkdown(on ? `**Harombe completions** from **${node}**\n\n` : `**Harombe completions are off**${language ? ` for ${language}` : ''}\n\n`);
    const s = this.stats;
    md.appendMarkdown(`${s.shown} shown · ${s.accepted} accepted · ${s.cancelled} cancelled · ${s.hedged} hedged\n\n`);
    md.appendMarkdown(`[${on ? 'Turn off' : 'Turn on'}](command:harombe.toggleCompletions)${language ? ` · [On/off for ${language}](command:harombe.toggleCompletionsForLanguage)` : ''} · [Metrics](command:harombe.showMetrics)`);
    this.statusItem.tooltip = md;
    this.statusItem.show();
  }
}

/** Waits `ms` unless the token is cancelled first; true when the wait ran out. */
function sleep(ms: number, token: vscode.CancellationToken): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(true);
    }, ms);
    const sub = token.onCancellationRequested(() => {
      clearTimeout(timer);
      sub.dispose();
      resolve(false);
    });
  });
}
