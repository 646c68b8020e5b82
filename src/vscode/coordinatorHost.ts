import { homedir } from 'node:os';
import { FileTrustStore } from '../core/nodes/fileTrustStore';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfigOverrides } from '../core/config/buildConfig';
import type { ConfigError, ConfigProblem } from '../core/config/configError';
import { ConfigWatcher } from '../core/config/configWatcher';
import { harombeConfigSchema, type HarombeConfig } from '../core/config/schema';
import { Coordinator } from '../core/coordinator';
import type { NodeTestResult } from '../core/nodes/testNodes';
import type { NodeTokens } from './nodeTokens';

/** The settings that map onto the config, with the YAML key each one fills in. */
const routingSettings = [
  ['routing.preferLocal', 'prefer_local'],
  ['routing.fallbackStrategy', 'fallback_strategy'],
  ['routing.loadBalance', 'load_balance'],
] as const;

/**
 * Owns the window's config watcher and coordinator: settings and stored node tokens go in as
 * overrides, reloads are applied as they come, and a broken config shows where it is broken
 * (a warning with Open Config, and diagnostics on the YAML) while the last good one keeps working.
 */
export class CoordinatorHost implements vscode.Disposable {
  readonly coordinator: Coordinator;
  private watcher: ConfigWatcher;
  private watcherSubscriptions: { dispose(): void }[] = [];
  private readonly disposables: vscode.Disposable[] = [];
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('harombe');
  private readonly _onDidChangeNodes = new vscode.EventEmitter<void>();
  /** Nodes were added, removed, or changed state (coalesced by the registry per tick). */
  readonly onDidChangeNodes = this._onDidChangeNodes.event;
  private readonly _onDidChangeTesting = new vscode.EventEmitter<boolean>();
  readonly onDidChangeTesting = this._onDidChangeTesting.event;
  private testRuns = 0;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly tokens: NodeTokens,
  ) {
    this.watcher = this.createWatcher();
    this.coordinator = new Coordinator({
      config: this.effectiveConfig(),
      logger: log,
      probeOnInterval: true,
      // The same trust file as the CLI's, so a node trusted in one is trusted in the other.
      discovery: { trustStore: new FileTrustStore(harombeHome()) },
    });
    const registry = this.coordinator.registry;
    this.watchDiscovery();
    this.disposables.push(
      this.diagnostics,
      this._onDidChangeNodes,
      this._onDidChangeTesting,
      { dispose: () => this.watcherSubscriptions.forEach((s) => s.dispose()) },
      { dispose: () => this.watcher.dispose() },
      this.coordinator,
      toVscode(registry.onDidChange(() => this._onDidChangeNodes.fire())),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('harombe.configFile')) this.restartWatcher();
        else if (e.affectsConfiguration('harombe.routing')) this.watcher.setOverrides(this.overrides());
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.restartWatcher()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.restartWatcher()),
      tokens.onDidChange(() => this.apply()),
    );
    this.reportInitialState();
    void tokens.load();
  }

  get config(): HarombeConfig {
    return this.coordinator.currentConfig;
  }

  /** The files the config is read from, existing or not, lowest priority first. */
  get configFiles(): readonly string[] {
    return this.watcher.watchedFiles;
  }

  /** The file Add Node and Open Config write to: the workspace's (or the one named in settings). */
  get primaryConfigFile(): string {
    return this.configFiles[this.configFiles.length - 1] ?? path.join(harombeHome(), 'harombe.yaml');
  }

  /** The files that exist and were read, lowest priority first. */
  get loadedFiles(): readonly string[] {
    return this.watcher.result?.files ?? [];
  }

  get testing(): boolean {
    return this.testRuns > 0;
  }

  /** Sends every node (or the named ones) a short prompt; the status bar spins meanwhile. */
  async testNodes(names?: string[]): Promise<NodeTestResult[]> {
    this.testRuns++;
    if (this.testRuns === 1) this._onDidChangeTesting.fire(true);
    try {
      return await this.coordinator.testNodes({ timeoutMs: 30_000, ...(names ? { names } : {}) });
    } finally {
      this.testRuns--;
      if (this.testRuns === 0) this._onDidChangeTesting.fire(false);
    }
  }

  /** Re-reads the files now instead of waiting for the file watcher. */
  reload(): void {
    this.watcher.reload();
  }

  dispose(): void {
    for (const d of this.disposables.reverse()) d.dispose();
  }

  private createWatcher(): ConfigWatcher {
    const explicitFile = vscode.workspace.getConfiguration('harombe').get<string>('configFile')?.trim() || undefined;
    const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? harombeHome();
    const watcher = new ConfigWatcher({
      ...(explicitFile ? { explicitFile } : {}),
      env: process.env,
      cwd,
      home: harombeHome(),
      trustWorkspace: vscode.workspace.isTrusted,
      overrides: this.overrides(),
      overridesLabel: 'VS Code settings',
      logger: this.log,
    });
    this.watcherSubscriptions = [
      watcher.onDidChange(() => this.apply()),
      watcher.onDidError((error) => this.showConfigError(error)),
    ];
    return watcher;
  }

  private restartWatcher(): void {
    this.watcherSubscriptions.forEach((s) => s.dispose());
    this.watcher.dispose();
    this.watcher = this.createWatcher();
    this.reportInitialState();
    this.apply();
  }

  private reportInitialState(): void {
    const error = this.watcher.error;
    if (error) this.showConfigError(error);
    else this.showProblems(this.watcher.result?.warnings ?? []);
  }

  /** Applies the current config (with tokens); unchanged nodes keep their state and breakers. */
  private apply(): void {
    this.coordinator.applyConfig(this.effectiveConfig());
    if (!this.watcher.error) this.showProblems(this.watcher.result?.warnings ?? []);
  }

  private effectiveConfig(): HarombeConfig {
    const config = this.watcher.current ?? harombeConfigSchema.parse({});
    const tokens = this.tokens.all;
    if (tokens.size === 0) return config;
    // A token set through the UI is the user's latest word, so it wins over one in the file.
    const nodes = config.cluster.nodes.map((n) => {
      const token = tokens.get(n.name);
      return token ? { ...n, auth: token, auth_token: undefined } : n;
    });
    return { ...config, cluster: { ...config.cluster, nodes } };
  }

  private overrides(): ConfigOverrides | undefined {
    const settings = vscode.workspace.getConfiguration('harombe');
    const routing: Record<string, unknown> = {};
    for (const [setting, key] of routingSettings) {
      const inspected = settings.inspect(setting);
      // Only what the user set: a default in settings must not look like a choice.
      const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
      if (value !== undefined) routing[key] = value;
    }
    return Object.keys(routing).length > 0 ? ({ cluster: { routing } } as ConfigOverrides) : undefined;
  }

  private showConfigError(error: ConfigError): void {
    this.showProblems(error.problems);
    const first = error.errors[0] ?? error.problems[0];
    this.log.warn(`config error: ${error.format()}`);
    void vscode.window
      .showWarningMessage(`Harombe config: ${error.message}. The last good config stays in use.`, 'Open Config', 'Show Logs')
      .then((choice) => {
        if (choice === 'Open Config' && first) void openProblem(first);
        else if (choice === 'Show Logs') this.log.show();
      });
  }

  private showProblems(problems: readonly ConfigProblem[]): void {
    this.diagnostics.clear();
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const p of problems) {
      if (!path.isAbsolute(p.file)) continue;
      const line = Math.max(0, p.line - 1);
      const col = Math.max(0, p.column - 1);
      const d = new vscode.Diagnostic(new vscode.Range(line, col, line, col + 1000), p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = 'harombe';
      byFile.set(p.file, [...(byFile.get(p.file) ?? []), d]);
    }
    for (const [file, list] of byFile) this.diagnostics.set(vscode.Uri.file(file), list);
  }

  /** A new worker on the LAN asks for trust; an impostor of a trusted one is a warning. Both name the node and where it is. */
  private watchDiscovery(): void {
    const discovery = this.coordinator.discovery;
    if (!discovery) return;
    this.disposables.push(
      toVscode(
        discovery.onDidDiscover(async (n) => {
          const choice = await vscode.window.showInformationMessage(
            `New Harombe node \`${n.name}\` (${n.model}, tier ${n.tier}) at ${n.host}. It gets no prompts, files or tokens until you trust it.`,
            'Trust',
            'Ignore',
          );
          if (choice === 'Trust') {
            discovery.trust(n.name);
            this.log.info(`trusted node ${n.name} (${n.host}:${n.port})`);
          }
        }),
      ),
      toVscode(
        discovery.onDidDetectImpostor((n) =>
          void vscode.window.showWarningMessage(
            `Harombe node \`${n.name}\` at ${n.host} announces a different identity than the one you trusted. It is untrusted again and gets nothing until you trust it anew.`,
          ),
        ),
      ),
    );
  }
}

/** `~/.harombe`, or `$HAROMBE_HOME` as the CLI reads it, so both use the same user file. */
export function harombeHome(): string {
  return process.env.HAROMBE_HOME || path.join(homedir(), '.harombe');
}

async function openProblem(p: ConfigProblem): Promise<void> {
  if (!path.isAbsolute(p.file)) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'harombe');
    return;
  }
  const position = new vscode.Position(Math.max(0, p.line - 1), Math.max(0, p.column - 1));
  await vscode.window.showTextDocument(vscode.Uri.file(p.file), { selection: new vscode.Range(position, position) });
}

function toVscode(d: { dispose(): void }): vscode.Disposable {
  return new vscode.Disposable(() => d.dispose());
}
