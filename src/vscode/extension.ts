import * as vscode from 'vscode';
import { AnswerDocuments } from './answerDocument';
import { askInChat, registerChatView } from './chat/chatViewProvider';
import { registerClusterCommands } from './clusterCommands';
import { registerCodeActions } from './codeActions';
import { registerChatIntegration } from './lm/registerChatIntegration';
import { CoordinatorHost } from './coordinatorHost';
import { GatewayHost } from './gatewayHost';
import { HarombeInlineCompletions } from './inlineCompletions';
import { MetricsDocumentProvider } from './metricsDocument';
import { NodesTreeProvider } from './nodesTree';
import { NodeTokens } from './nodeTokens';
import { ProposedEdits } from './proposedEdits';
import { ClusterStatusBar } from './statusBar';

/**
 * What `activate` returns. The integration tests read the live objects through it (the status bar
 * and the tree have no API to query) and use `proposals.autoDecide` to answer diffs.
 */
export interface HarombeApi {
  /** activate()'s own duration, without loading the bundle. */
  activationMs: number;
  host: CoordinatorHost;
  gateway: GatewayHost;
  statusBar: ClusterStatusBar;
  nodesTree: NodesTreeProvider;
  proposals: ProposedEdits;
  completions: HarombeInlineCompletions;
}

/**
 * Activation stays short and linear: everything created here is pushed onto
 * `context.subscriptions`, so VS Code disposes of it on deactivation and there is nothing left for
 * `deactivate()` to do.
 */
export function activate(context: vscode.ExtensionContext): HarombeApi {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Harombe', { log: true });
  context.subscriptions.push(log);
  try {
    context.subscriptions.push(vscode.commands.registerCommand('harombe.showLogs', () => log.show()));
    const tokens = new NodeTokens(context);
    const host = new CoordinatorHost(log, tokens);
    const gateway = new GatewayHost(host.coordinator, log);
    const statusBar = new ClusterStatusBar(host, gateway);
    const nodesTree = new NodesTreeProvider(host);
    const metrics = new MetricsDocumentProvider(host);
    const proposals = new ProposedEdits();
    const answers = new AnswerDocuments();
    const completions = new HarombeInlineCompletions(
      host.coordinator.createCompletionEngine(() => host.coordinator.currentConfig.completion),
      host,
      log,
    );
    context.subscriptions.push(
      completions,
      tokens,
      // Before the coordinator, so the gateway stops taking requests before its coordinator goes.
      gateway,
      vscode.commands.registerCommand('harombe.copyGatewayUrl', () => gateway.copyUrl()),
      host,
      statusBar,
      nodesTree,
      vscode.window.createTreeView('harombe.nodes', { treeDataProvider: nodesTree, showCollapseAll: false }),
      metrics,
      vscode.workspace.registerTextDocumentContentProvider('harombe-metrics', metrics),
      proposals,
      answers,
      ...registerClusterCommands({ host, log, tokens, metrics }),
      ...registerCodeActions({ coordinator: host.coordinator, log, proposals, answers, askInChat }),
      ...registerChatView(context, { coordinator: host.coordinator, log }),
      ...registerChatIntegration({ coordinator: host.coordinator, log, extensionUri: context.extensionUri }),
    );
    const activationMs = performance.now() - started;
    const version = (context.extension.packageJSON as { version?: string }).version ?? 'unknown';
    log.info(`Harombe ${version} activated in ${activationMs.toFixed(1)} ms`);
    return { activationMs, host, gateway, statusBar, nodesTree, proposals, completions };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error(`Cannot activate Harombe: ${message}`);
    void vscode.window.showErrorMessage(`Cannot activate Harombe: ${message}`, 'Show Logs').then((choice) => {
      if (choice) log.show();
    });
    throw error;
  }
}

export function deactivate(): void {
  // Everything is disposed of through context.subscriptions.
}
