import * as vscode from 'vscode';
import { capabilitiesLabel } from '../core/nodes/capabilities';
import { describeLoad } from '../core/nodes/describeLoad';
import type { NodeInfo } from '../core/nodes/nodeInfo';
import { describeWindow } from '../core/nodes/describeWindow';
import { formatTokens } from '../core/routing/tokenEstimate';

export const tierNames = ['fast', 'balanced', 'powerful'] as const;

/** How one node looks everywhere in the UI (tree, status bar tooltip, quick picks), so they never disagree. */
export const nodePresentation = {
  /** The state a person cares about: an open breaker matters more than the last probe. */
  status(n: NodeInfo): 'available' | 'degraded' | 'unavailable' | 'untrusted' | 'circuit open' | 'token refused' {
    if (n.state === 'untrusted') return 'untrusted';
    // Up but unusable: the fix is the token, not the node, so it must not look like an outage.
    if (n.tokenRefused) return 'token refused';
    if (n.breaker.state === 'open') return 'circuit open';
    return n.state;
  },

  /** Counts as serving: trusted, up, breaker not open. */
  isUp(n: NodeInfo): boolean {
    return (n.state === 'available' || n.state === 'degraded') && n.breaker.state !== 'open';
  },

  icon(n: NodeInfo): vscode.ThemeIcon {
    switch (nodePresentation.status(n)) {
      case 'available':
        return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
      case 'degraded':
        return new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
      case 'circuit open':
        return new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('list.errorForeground'));
      case 'unavailable':
        return new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
      case 'token refused':
        return new vscode.ThemeIcon('key', new vscode.ThemeColor('list.errorForeground'));
      default:
        return new vscode.ThemeIcon('shield', new vscode.ThemeColor('disabledForeground'));
    }
  },

  codicon(n: NodeInfo): string {
    return { available: '$(pass-filled)', degraded: '$(warning)', 'circuit open': '$(circle-slash)', unavailable: '$(error)', untrusted: '$(shield)', 'token refused': '$(key)' }[nodePresentation.status(n)];
  },

  /** `model · 16k · no tools · 12 ms · 1/4` (16k: the context window), plus the breaker countdown when it is open. */
  description(n: NodeInfo, now = Date.now()): string {
    const parts = [n.model, formatTokens(n.contextWindow.tokens)];
    // Only what changes routing is worth the room: a model that takes no tools, or only embeds.
    if (n.capabilities.source !== 'unknown' && !n.capabilities.has.includes('tools')) parts.push(capabilitiesLabel(n));
    else if (n.capabilities.source === 'unknown' && n.capabilities.lacks.length > 0) parts.push(capabilitiesLabel(n));
    if (n.latencyMs !== undefined && n.state !== 'unavailable') parts.push(`${Math.round(n.latencyMs)} ms`);
    parts.push(`${describeLoad(n, { source: false })}${n.load.source === 'local' ? ' (local)' : ''}`);
    const countdown = nodePresentation.breakerCountdown(n, now);
    if (countdown) parts.push(countdown);
    return parts.join(' · ');
  },

  breakerCountdown(n: NodeInfo, now = Date.now()): string | undefined {
    if (n.breaker.state === 'half-open') return 'circuit half-open';
    if (n.breaker.state !== 'open') return undefined;
    if (n.breaker.retryAt === undefined) return 'circuit open';
    return `circuit open, retry in ${Math.max(0, Math.ceil((n.breaker.retryAt - now) / 1000))} s`;
  },

  /** One line for a status tooltip or a quick pick. */
  line(n: NodeInfo): string {
    const reason = n.stateReason && !nodePresentation.isUp(n) ? ` — ${n.stateReason}` : '';
    return `${nodePresentation.codicon(n)} **${n.name}** (tier ${n.tier}) ${nodePresentation.status(n)} · ${nodePresentation.description(n)}${reason}`;
  },

  tooltip(n: NodeInfo, now = Date.now()): vscode.MarkdownString {
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${n.name}** — ${nodePresentation.status(n)}\n\n`);
    const rows: [string, string][] = [
      ['Address', `${n.host}:${n.port} (${n.kind})`],
      ['Tier', `${n.tier} · ${tierNames[n.tier]}`],
      ['Model', n.model],
      ['Can', `${capabilitiesLabel(n)}${n.capabilities.source === 'unknown' ? '' : ` (${n.capabilities.source === 'reported' ? 'reported by the server' : 'from the config'})`}`],
      ['Context', `${describeWindow(n.contextWindow)}: ${WINDOW_SOURCE[n.contextWindow.source]}`],
      ['Source', n.source === 'config' ? 'config file' : 'found on the network (mDNS)'],
      ['Latency', n.latencyMs === undefined ? 'not measured yet' : `${Math.round(n.latencyMs)} ms (health probe average)`],
      ['Load', `${describeLoad(n)}; ${n.inFlight} from this window`],
      ['Circuit', nodePresentation.breakerCountdown(n, now) ?? 'closed'],
    ];
    if (n.stateReason) rows.push(['Why', n.stateReason]);
    if (n.kind === 'harombe') rows.push(['Host key', n.keyFingerprint ?? 'none proved (Harombe 0.3.1 worker, or not probed yet)']);
    const hw = n.hardware;
    if (hw) {
      const parts = [hw.cpu, hw.cores && `${hw.cores} cores`, hw.ramGb && `${hw.ramGb} GB RAM`, hw.gpu, hw.vramGb && `${hw.vramGb} GB VRAM`].filter(Boolean);
      if (parts.length) rows.push(['Hardware', parts.join(', ')]);
    }
    if (n.loadedModels.length) rows.push(['Loaded', n.loadedModels.join(', ')]);
    if (n.lastSeen) rows.push(['Last seen', `${Math.round((now - n.lastSeen) / 1000)} s ago`]);
    for (const [k, v] of rows) md.appendMarkdown(`- ${k}: ${escapeMd(v)}\n`);
    return md;
  },
};

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]<>|]/g, (c) => `\\${c}`);
}

const WINDOW_SOURCE: Record<NodeInfo['contextWindow']['source'], string> = {
  configured: 'context_length in harombe.yaml',
  reported: 'what the server runs with',
  chosen: 'Harombe runs the model with this num_ctx (set context_length to change it)',
  assumed: 'the server could not say; its documented default',
};
