import Table from 'cli-table3';
import pc from 'picocolors';
import type { NodeInfo } from '../core/nodes/nodeInfo';

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 10 ? `${ms.toFixed(1)}ms` : ms < 10_000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function colorState(state: NodeInfo['state']): string {
  switch (state) {
    case 'available':
      return pc.green(state);
    case 'degraded':
      return pc.yellow(state);
    case 'untrusted':
      return pc.magenta(state);
    default:
      return pc.red(state);
  }
}

export function describeBreaker(n: NodeInfo, now = Date.now()): string {
  const b = n.breaker;
  if (b.state === 'open' && b.retryAt !== undefined) return pc.red(`open (retry in ${Math.max(0, Math.ceil((b.retryAt - now) / 1000))}s)`);
  if (b.state === 'open') return pc.red('open');
  if (b.state === 'half-open') return pc.yellow('half-open');
  return 'closed';
}

export function hostPort(n: Pick<NodeInfo, 'host' | 'port'>): string {
  return n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`;
}

/** A box table like the one in Harombe's cluster guide. */
export function renderTable(head: string[], rows: string[][]): string {
  const table = new Table({ head: head.map((h) => pc.bold(h)), style: { head: [], border: [] } });
  table.push(...rows);
  return table.toString();
}
