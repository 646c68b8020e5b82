import * as vscode from 'vscode';
import type { NodeInfo } from '../core/nodes/nodeInfo';
import type { CoordinatorHost } from './coordinatorHost';
import { nodePresentation, tierNames } from './nodePresentation';

export type NodesTreeElement = { type: 'tier'; tier: 0 | 1 | 2 } | { type: 'node'; name: string };

/**
 * The Nodes view: tiers, then their nodes, live from the registry. While a breaker is open the
 * view ticks once a second so its countdown stays true; otherwise it only redraws on changes.
 */
export class NodesTreeProvider implements vscode.TreeDataProvider<NodesTreeElement>, vscode.Disposable {
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<NodesTreeElement | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private readonly disposables: vscode.Disposable[] = [];
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly host: CoordinatorHost) {
    this.disposables.push(this._onDidChangeTreeData, host.onDidChangeNodes(() => this.refresh()));
    this.refresh();
  }

  refresh(): void {
    const nodes = this.host.coordinator.nodes();
    void vscode.commands.executeCommand('setContext', 'harombe.hasNodes', nodes.length > 0);
    const counting = nodes.some((n) => n.breaker.state === 'open');
    if (counting && !this.ticker) this.ticker = setInterval(() => this._onDidChangeTreeData.fire(undefined), 1000);
    if (!counting && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
    this._onDidChangeTreeData.fire(undefined);
  }

  getChildren(element?: NodesTreeElement): NodesTreeElement[] {
    const nodes = this.host.coordinator.nodes();
    if (!element) {
      const tiers = [...new Set(nodes.map((n) => n.tier))].sort();
      return tiers.map((tier) => ({ type: 'tier', tier }));
    }
    if (element.type === 'tier') {
      return nodes
        .filter((n) => n.tier === element.tier)
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((n) => ({ type: 'node', name: n.name }));
    }
    return [];
  }

  getParent(element: NodesTreeElement): NodesTreeElement | undefined {
    if (element.type === 'tier') return undefined;
    const node = this.host.coordinator.registry.get(element.name);
    return node ? { type: 'tier', tier: node.tier } : undefined;
  }

  getTreeItem(element: NodesTreeElement): vscode.TreeItem {
    if (element.type === 'tier') return this.tierItem(element.tier);
    const node = this.host.coordinator.registry.get(element.name);
    if (!node) return new vscode.TreeItem(element.name);
    return nodeItem(node);
  }

  private tierItem(tier: 0 | 1 | 2): vscode.TreeItem {
    const nodes = this.host.coordinator.nodes().filter((n) => n.tier === tier);
    const up = nodes.filter((n) => nodePresentation.isUp(n)).length;
    const item = new vscode.TreeItem(`Tier ${tier} · ${tierNames[tier]}`, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `tier:${tier}`;
    item.description = `${up}/${nodes.length} available`;
    item.iconPath = new vscode.ThemeIcon(up === 0 ? 'layers-dot' : 'layers', up === 0 ? new vscode.ThemeColor('list.errorForeground') : undefined);
    item.contextValue = 'tier';
    return item;
  }

  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    for (const d of this.disposables) d.dispose();
  }
}

function nodeItem(node: NodeInfo): vscode.TreeItem {
  const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.None);
  item.id = `node:${node.name}`;
  item.description = nodePresentation.description(node);
  item.tooltip = nodePresentation.tooltip(node);
  item.iconPath = nodePresentation.icon(node);
  item.contextValue = `node:${node.state}`;
  item.accessibilityInformation = { label: `${node.name}, tier ${node.tier}, ${nodePresentation.status(node)}, ${item.description}` };
  return item;
}
