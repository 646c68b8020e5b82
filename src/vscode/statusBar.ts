import * as vscode from 'vscode';
import type { CoordinatorHost } from './coordinatorHost';
import type { GatewayHost } from './gatewayHost';
import { nodePresentation } from './nodePresentation';

/**
 * `$(server) 2/3`: nodes serving out of nodes configured, coloured by cluster health, spinning
 * while a cluster test runs. Clicking opens Show Cluster Status.
 */
export class ClusterStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('harombe.status', vscode.StatusBarAlignment.Left, 50);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly host: CoordinatorHost,
    private readonly gateway?: GatewayHost,
  ) {
    this.item.name = 'Harombe Cluster';
    this.item.command = 'harombe.showClusterStatus';
    this.disposables.push(this.item, host.onDidChangeNodes(() => this.update()), host.onDidChangeTesting(() => this.update()));
    if (gateway) this.disposables.push(gateway.onDidChange(() => this.update()));
    this.update();
    this.item.show();
  }

  /** What the item shows now; tests read it since the status bar has no API to query. */
  get text(): string {
    return this.item.text;
  }

  /** The tooltip's markdown source. */
  get tooltipMarkdown(): string {
    return this.item.tooltip instanceof vscode.MarkdownString ? this.item.tooltip.value : String(this.item.tooltip ?? '');
  }

  get background(): string | undefined {
    return this.item.backgroundColor instanceof vscode.ThemeColor ? (this.item.backgroundColor as { id?: string }).id : undefined;
  }

  update(): void {
    const nodes = this.host.coordinator.nodes().filter((n) => n.state !== 'untrusted');
    const up = nodes.filter((n) => nodePresentation.isUp(n));
    const troubled = nodes.some((n) => n.state !== 'available' || n.breaker.state !== 'closed');
    const icon = this.host.testing ? '$(loading~spin)' : '$(server)';
    this.item.text = nodes.length === 0 ? `${icon} Harombe` : `${icon} ${up.length}/${nodes.length}`;
    this.item.backgroundColor =
      nodes.length === 0 ? undefined
      : up.length === 0 ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : troubled ? new vscode.ThemeColor('statusBarItem.warningBackground')
      : undefined;
    this.item.accessibilityInformation = { label: nodes.length === 0 ? 'Harombe: no nodes configured' : `Harombe: ${up.length} of ${nodes.length} nodes available` };
    this.item.tooltip = this.tooltip();
  }

  private tooltip(): vscode.MarkdownString {
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: ['harombe.testCluster', 'harombe.nodes.focus', 'harombe.openConfig', 'harombe.showMetrics', 'harombe.addNode', 'harombe.copyGatewayUrl', 'harombe.showLogs'] };
    const nodes = this.host.coordinator.nodes();
    if (this.host.testing) md.appendMarkdown('$(loading~spin) Testing the cluster…\n\n');
    if (nodes.length === 0) {
      md.appendMarkdown('**Harombe**: no nodes configured.\n\n[Add Node](command:harombe.addNode) · [Open Config](command:harombe.openConfig)');
      this.appendGateway(md);
      return md;
    }
    md.appendMarkdown('**Harombe cluster**\n\n');
    for (const n of [...nodes].sort((a, b) => a.tier - b.tier || a.name.localeCompare(b.name))) md.appendMarkdown(`${nodePresentation.line(n)}\n\n`);
    md.appendMarkdown('---\n\n[Test Cluster](command:harombe.testCluster) · [Show Nodes](command:harombe.nodes.focus) · [Metrics](command:harombe.showMetrics) · [Open Config](command:harombe.openConfig)');
    this.appendGateway(md);
    return md;
  }

  /** One line about `harombe.gateway.enabled`, only when it is on. */
  private appendGateway(md: vscode.MarkdownString): void {
    const status = this.gateway?.status;
    if (!status || status.state === 'off') return;
    md.appendMarkdown('\n\n---\n\n');
    if (status.state === 'running') md.appendMarkdown(`$(radio-tower) Gateway on \`${status.url ?? ''}\` · [Copy URL](command:harombe.copyGatewayUrl)`);
    else if (status.state === 'starting') md.appendMarkdown(`$(loading~spin) Gateway starting on port ${status.port}…`);
    else if (status.state === 'elsewhere') md.appendMarkdown(`$(radio-tower) Gateway: port ${status.port} is served by another Harombe gateway`);
    else md.appendMarkdown(`$(warning) Gateway not running: ${status.reason ?? 'see the logs'} · [Show Logs](command:harombe.showLogs)`);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
