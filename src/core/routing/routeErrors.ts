import type { ErrorEvent } from '../chatEvent';
import { NodeError } from '../inference/nodeError';
import type { NodeInfo } from '../nodes/nodeInfo';
import type { Tier } from './classification';
import type { FallbackStrategy } from './fallbackOrder';

/** One line for a failure on a node, as the user reads it in a fallback notice or an error. */
export function describeFailure(err: unknown): string {
  if (err instanceof NodeError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Nothing eligible for the request: why, node by node, and what to do. */
export function noNodeError(tier: Tier, strategy: FallbackStrategy, all: readonly NodeInfo[], now: number): ErrorEvent {
  const inTier = all.filter((n) => n.tier === tier);
  const describeNode = (n: NodeInfo) => `${n.name} (${nodeUnavailableReason(n, now)})`;
  let message: string;
  if (all.length === 0) {
    message = 'No nodes are configured. Add nodes under cluster.nodes in harombe.yaml (see `harombe config check`).';
  } else if (strategy === 'strict') {
    message =
      inTier.length === 0
        ? `No node has tier ${tier}, and fallback_strategy is strict. Add a tier ${tier} node or set cluster.routing.fallback_strategy: graceful.`
        : `No tier ${tier} node is available and fallback_strategy is strict: ${inTier.map(describeNode).join(', ')}.`;
  } else {
    message = `No node is available in any tier: ${all.map(describeNode).join(', ')}.`;
  }
  return { type: 'error', code: 'no_node', message, attempts: [] };
}

/** Every candidate was tried and failed. */
export function allFailed(tier: Tier, attempts: { node: string; reason: string }[]): ErrorEvent {
  const list = attempts.map((a) => `${a.node}: ${a.reason}`).join('; ');
  return { type: 'error', code: 'all_failed', message: `Every node that could take this tier ${tier} request failed (${list}).`, attempts };
}

function nodeUnavailableReason(n: NodeInfo, now: number): string {
  if (n.breaker.state === 'open') {
    const secs = n.breaker.retryAt ? Math.max(0, Math.ceil((n.breaker.retryAt - now) / 1000)) : undefined;
    return secs === undefined ? 'circuit open' : `circuit open, retry in ${secs} s`;
  }
  if (n.state === 'available' || n.state === 'degraded') return n.inFlight >= n.maxParallel ? 'busy' : n.state;
  return n.stateReason ? `${n.state}: ${n.stateReason}` : n.state;
}
