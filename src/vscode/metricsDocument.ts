import * as vscode from 'vscode';
import type { MetricsSnapshot } from '../core/metrics/clusterMetrics';
import type { NodeInfo } from '../core/nodes/nodeInfo';
import type { CoordinatorHost } from './coordinatorHost';
import { nodePresentation } from './nodePresentation';

export const metricsUri = vscode.Uri.parse('harombe-metrics:/Harombe%20Metrics.md');

/**
 * Show Metrics as a read-only markdown document: a virtual document needs no webview, is
 * searchable and copyable, and the markdown preview renders it as tables.
 */
export class MetricsDocumentProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly _onDidChange = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this._onDidChange.event;

  constructor(private readonly host: CoordinatorHost) {}

  /** Re-renders an open metrics document (VS Code asks for the content again). */
  refresh(): void {
    this._onDidChange.fire(metricsUri);
  }

  provideTextDocumentContent(): string {
    return renderMetrics(this.host.coordinator.metrics.snapshot(), this.host.coordinator.nodes());
  }

  dispose(): void {
    this._onDidChange.dispose();
  }
}

export function renderMetrics(m: MetricsSnapshot, nodes: NodeInfo[], now = Date.now()): string {
  const ms = (v: number | undefined) => (v === undefined ? '–' : `${Math.round(v)} ms`);
  const out: string[] = [
    '# Harombe metrics',
    '',
    `Since ${new Date(m.since).toLocaleString()} (${Math.round((now - m.since) / 60_000)} min). Requests ${m.requests}, failed ${m.failedRequests}, fallbacks ${m.fallbacks}.`,
    '',
    '## Nodes',
    '',
    '| node | tier | state | probe latency | requests | errors | TTFT p50 | answer p50 / p95 | reasoning p50 / p95 | tokens/s |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const names = new Set([...nodes.map((n) => n.name), ...Object.keys(m.nodes)]);
  for (const name of [...names].sort()) {
    const n = nodes.find((x) => x.name === name);
    const s = m.nodes[name];
    out.push(
      `| ${name} | ${n ? n.tier : '–'} | ${n ? nodePresentation.status(n) : 'removed'} | ${ms(n?.latencyMs)} | ${s?.requests ?? 0} | ${s?.errors ?? 0} | ${ms(s?.ttftP50Ms)} | ${ms(s?.latencyP50Ms)} / ${ms(s?.latencyP95Ms)} | ${s?.reasonedRequests ? `${ms(s.thinkingP50Ms)} / ${ms(s.thinkingP95Ms)}` : '–'} | ${s?.tokensPerSecond === undefined ? '–' : s.tokensPerSecond.toFixed(1)} |`,
    );
  }
  if (names.size === 0) out.push('| (no nodes) | | | | | | | | | |');
  out.push('', '## Routing by requested tier', '', '| tier | requests |', '|---|---|');
  for (const t of ['0', '1', '2'] as const) out.push(`| ${t} | ${m.routedByTier[t]} |`);
  const c = m.completions;
  out.push(
    '',
    '## Ghost-text completions',
    '',
    `Requested ${c.requested}, shown ${c.shown}, accepted ${c.accepted}, cancelled ${c.cancelled}, hedged ${c.hedged}.`,
    '',
    '| served by | shown | keystroke → ghost text p50 / p90 |',
    '|---|---|---|',
  );
  const served = Object.entries(c.nodes).sort(([a], [b]) => a.localeCompare(b));
  for (const [name, n] of served) out.push(`| ${name} | ${n.shown} | ${ms(n.keystrokeToGhostP50Ms)} / ${ms(n.keystrokeToGhostP90Ms)} |`);
  if (served.length === 0) out.push('| (none shown yet) | | |');
  out.push('', '_Run **Harombe: Show Metrics** again to refresh._', '');
  return out.join('\n');
}
