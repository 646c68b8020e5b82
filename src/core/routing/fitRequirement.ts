import type { NodeInfo } from '../nodes/nodeInfo';
import type { Requirement } from './nodeSelector';
import { formatTokens } from './tokenEstimate';

/**
 * Room for the request (prompt estimate + answer reserve) in the node's window: a node that
 * would cut the prompt is passed over, and the route says so (`server (tier 2) holds 8k`).
 */
export function fitRequirement(needTokens: () => number): Requirement & { readonly fitFailure: true } {
  return {
    fitFailure: true,
    met: (n: NodeInfo) => n.contextWindow.tokens >= needTokens(),
    unmet: (n: NodeInfo) => `${n.name} (tier ${n.tier}) holds ${formatTokens(n.contextWindow.tokens)}`,
  };
}
