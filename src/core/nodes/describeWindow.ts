import { formatTokens } from '../routing/tokenEstimate';
import type { ContextWindow } from './nodeInfo';

/**
 * A node's window as the CLI's Context column, the nodes tree and the tooltips show it:
 * `16k of 32k (chosen)`, `8k (reported)`, `4k (assumed)`.
 */
export function describeWindow(w: ContextWindow): string {
  const max = w.max !== undefined && w.max !== w.tokens ? ` of ${formatTokens(w.max)}` : '';
  return `${formatTokens(w.tokens)}${max} (${w.source})`;
}

/** The `--json` / `/cluster/status` form: `{tokens, max, source}` (`max` null when unknown). */
export function windowJson(w: ContextWindow): { tokens: number; max: number | null; source: ContextWindow['source'] } {
  return { tokens: w.tokens, max: w.max ?? null, source: w.source };
}
